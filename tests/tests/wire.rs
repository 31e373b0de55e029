//! The gRPC wire of the three service binaries under attack, each on a fresh database (SQLite, or
//! PostgreSQL with `SHEQU_TEST_DATABASE_URL`): every method of every Shequ service, found in the
//! descriptor set, answers malformed protobuf and broken frames with INVALID_ARGUMENT, a message
//! over the limit with RESOURCE_EXHAUSTED naming it, a megabyte of input with the real error in
//! a short status, and control characters in text fields with INVALID_ARGUMENT naming the field,
//! storing nothing.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as _, Frame};
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_system_tests::{Launch, Service, System};
use shequ_testkit::{TestDatabase, fixtures};
use tonic::codegen::Service as _;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// Longest status message the services send, and longest field-violation description.
const MAX_MESSAGE: usize = 512;
const MAX_DESCRIPTION: usize = 256;

/// One method of a Shequ service, as the descriptor set states it.
#[derive(Debug, Clone)]
struct Method {
    /// `/shequ.registry.v1.FacilityService/CreateFacility`
    path: String,
    /// `shequ.registry.v1`
    package: String,
    /// `shequ.registry.v1.CreateFacilityRequest`
    input: String,
    client_streaming: bool,
}

/// Every message of the contracts by full name, and every method of every Shequ service.
struct Contracts {
    messages: HashMap<String, DescriptorProto>,
    methods: Vec<Method>,
}

impl Contracts {
    fn load() -> Self {
        let set = FileDescriptorSet::decode(shequ_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut messages = HashMap::new();
        let mut methods = Vec::new();
        fn add(scope: &str, m: &DescriptorProto, out: &mut HashMap<String, DescriptorProto>) {
            let name = format!("{scope}.{}", m.name());
            for nested in &m.nested_type {
                add(&name, nested, out);
            }
            out.insert(name, m.clone());
        }
        for file in &set.file {
            for m in &file.message_type {
                add(file.package(), m, &mut messages);
            }
            if !file.package().starts_with("shequ.") {
                continue;
            }
            for service in &file.service {
                for method in &service.method {
                    methods.push(Method {
                        path: format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                        package: file.package().to_owned(),
                        input: method.input_type().trim_start_matches('.').to_owned(),
                        client_streaming: method.client_streaming(),
                    });
                }
            }
        }
        assert!(methods.len() > 40, "{} methods", methods.len());
        Self { messages, methods }
    }

    /// The field numbers leading from `message` to its first text field, nearest first.
    fn path_to_text(&self, message: &str) -> Option<Vec<i32>> {
        let mut queue = VecDeque::from([(message.to_owned(), Vec::new())]);
        let mut seen = vec![message.to_owned()];
        while let Some((name, path)) = queue.pop_front() {
            for field in &self.messages[&name].field {
                let mut here = path.clone();
                here.push(field.number());
                match field.r#type() {
                    Type::String => return Some(here),
                    Type::Message => {
                        let nested = field.type_name().trim_start_matches('.').to_owned();
                        if !seen.contains(&nested) {
                            seen.push(nested.clone());
                            queue.push_back((nested, here));
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// The first field of `message` holding a message, if any.
    fn message_field(&self, message: &str) -> Option<i32> {
        self.messages[message]
            .field
            .iter()
            .find(|f| f.r#type() == Type::Message)
            .map(|f| f.number())
    }

    /// `message` with every top-level, singular text field set to `value`.
    fn with_every_text(&self, message: &str, value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for field in &self.messages[message].field {
            if field.r#type() == Type::String && field.label() != Label::Repeated {
                out.extend(length_delimited(field.number(), value.as_bytes()));
            }
        }
        out
    }
}

/// The services as processes; a method of `shequ.audit.v1` is served by all three.
fn servers<'a>(system: &'a System, method: &Method) -> Vec<&'a Service> {
    match method.package.as_str() {
        "shequ.registry.v1" => vec![&system.registry],
        "shequ.survey.v1" => vec![&system.survey],
        "shequ.monitoring.v1" => vec![&system.monitoring],
        "shequ.audit.v1" => vec![&system.registry, &system.survey, &system.monitoring],
        other => panic!("no process serves {other}"),
    }
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
    out
}

fn length_delimited(field: i32, value: &[u8]) -> Vec<u8> {
    let mut out = varint(((field as u64) << 3) | 2);
    out.extend(varint(value.len() as u64));
    out.extend_from_slice(value);
    out
}

/// `value` placed at the end of the path of fields, each a message holding the next.
fn nested(path: &[i32], value: &[u8]) -> Vec<u8> {
    path.iter().rev().fold(value.to_vec(), |inner, &field| {
        length_delimited(field, &inner)
    })
}

/// A gRPC frame: uncompressed flag, big-endian length, message.
fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Deterministic bytes from a small linear congruential generator.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

/// Whether `bytes` fail to parse as protobuf fields of any message: a bad tag, wire type or
/// length, whatever the schema says about the field numbers.
fn malformed_for_every_message(mut bytes: &[u8]) -> bool {
    fn read(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in 0..10 {
            let (&b, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u64::from(b & 0x7f) << (7 * shift);
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }
    let mut groups = Vec::new();
    while !bytes.is_empty() {
        let Some(key) = read(&mut bytes) else {
            return true;
        };
        if key >> 3 == 0 || key >> 3 > u64::from(u32::MAX >> 3) {
            return true;
        }
        let skip = match key & 7 {
            0 => {
                if read(&mut bytes).is_none() {
                    return true;
                }
                0
            }
            1 => 8,
            5 => 4,
            2 => match read(&mut bytes) {
                Some(len) => len as usize,
                None => return true,
            },
            3 => {
                groups.push(key >> 3);
                0
            }
            4 => {
                if groups.pop() != Some(key >> 3) {
                    return true;
                }
                0
            }
            _ => return true,
        };
        match bytes.get(skip..) {
            Some(rest) => bytes = rest,
            None => return true,
        }
    }
    !groups.is_empty()
}

/// One malformed request body, and whether the service refuses it before any handler runs (so
/// the message is the wire's, starting "the request ").
struct Malformed {
    what: String,
    body: Vec<u8>,
    refused_by_the_wire: bool,
}

fn malformed(contracts: &Contracts, method: &Method) -> Vec<Malformed> {
    let mut cases = Vec::new();
    let mut add = |what: &str, body: Vec<u8>| {
        cases.push(Malformed {
            what: what.to_owned(),
            body,
            refused_by_the_wire: true,
        })
    };
    add("a truncated varint tag", frame(&[0x80]));
    add("a varint field cut short", frame(&[0x08, 0xff, 0xff]));
    add(
        "a ten-byte varint that does not end",
        frame(&[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]),
    );
    add("a length past the end", frame(&[0x0a, 0x05, b'a']));
    add(
        "a length past the end of an unknown field",
        frame(&[0xfa, 0x3e, 0x7f, 1, 2, 3]),
    );
    add(
        "a length over 2 GiB",
        frame(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    );
    add("wire type 7", frame(&[0x0f, 0x00]));
    add("wire type 6", frame(&[0x0e, 0x00]));
    add("a fixed64 cut short", frame(&[0x09, 1, 2, 3]));
    add("field number 0 as a varint", frame(&[0x00, 0x01]));
    add("field number 0 as bytes", frame(&[0x02, 0x00]));
    add("an end-group tag with no group", frame(&[0x0c]));
    add("a group that never ends", frame(&[0xfb, 0x3e, 0x08, 0x01]));
    if let Some(path) = contracts.path_to_text(&method.input) {
        add(
            "invalid UTF-8 in a text field",
            frame(&nested(&path, &[0xff, 0xfe, b'a'])),
        );
        add(
            "a UTF-16 surrogate in a text field",
            frame(&nested(&path, &[0xed, 0xa0, 0x80])),
        );
        add(
            "an overlong UTF-8 NUL in a text field",
            frame(&nested(&path, &[0xc0, 0x80])),
        );
    }
    if let Some(field) = contracts.message_field(&method.input) {
        add(
            "a nested message holding a truncated varint",
            frame(&length_delimited(field, &[0x08, 0x80])),
        );
        add(
            "a nested message holding wire type 7",
            frame(&length_delimited(field, &[0x0f])),
        );
    }
    for seed in 1..=3u64 {
        let mut bytes = noise(seed, 64);
        // Noise that happens to parse proves nothing; the generator is deterministic, so this
        // only shifts to the next bytes that do not.
        let mut next = seed * 1000;
        while !malformed_for_every_message(&bytes) {
            next += 1;
            bytes = noise(next, 64);
        }
        add(&format!("random bytes ({seed})"), frame(&bytes));
    }
    add("a frame flag of 0x02", vec![2, 0, 0, 0, 0]);
    add("a frame longer than the body", {
        let mut b = vec![0, 0, 0, 0, 100];
        b.extend_from_slice(&[0; 10]);
        b
    });
    add("a body ending inside the frame header", vec![0, 0, 0]);
    if !method.client_streaming {
        add("no message at all", Vec::new());
    }
    // A good message first: a streaming handler may read and refuse it before the garbage.
    for (what, garbage) in [
        ("garbage", vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02]),
        ("a truncated frame", vec![0, 0, 0, 0, 9, 1, 2]),
        ("a malformed message", frame(&[0x0f, 0x00])),
    ] {
        let mut body = frame(&[]);
        body.extend(garbage);
        cases.push(Malformed {
            what: format!("a good frame followed by {what}"),
            body,
            refused_by_the_wire: !method.client_streaming,
        });
    }
    cases
}

/// A request body of the given chunks, one DATA frame each.
struct Chunks(VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
    }
}

/// How a raw call ended: its status, and the size of the headers or trailers that carried it.
#[derive(Debug)]
struct Ending {
    status: Status,
    metadata_bytes: usize,
}

/// Sends `body` as the request body of `path` and reads the status, from the response headers
/// (a trailers-only response) or the trailers.
async fn call_raw(channel: &Channel, path: &str, chunks: Vec<Vec<u8>>) -> Ending {
    let mut channel = channel.clone();
    let request = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(Chunks(
            chunks.into_iter().map(Bytes::from).collect(),
        )))
        .unwrap();
    let call = async move {
        std::future::poll_fn(|cx| channel.poll_ready(cx))
            .await
            .unwrap();
        let response = channel.call(request).await.expect("an HTTP response");
        let size = |h: &http::HeaderMap| -> usize {
            h.iter().map(|(n, v)| n.as_str().len() + v.len()).sum()
        };
        if let Some(status) = Status::from_header_map(response.headers()) {
            return Ending {
                metadata_bytes: size(response.headers()),
                status,
            };
        }
        let mut body = response.into_body();
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx))
                .await
                .expect("the response ends with trailers")
                .expect("the response body reads");
            if let Ok(trailers) = frame.into_trailers() {
                return Ending {
                    metadata_bytes: size(&trailers),
                    status: Status::from_header_map(&trailers).expect("a status in the trailers"),
                };
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .unwrap_or_else(|_| panic!("{path} did not answer within a minute"))
}

/// The status is bounded: message, every violation, and the metadata as a whole.
fn assert_bounded(context: &str, ending: &Ending) {
    let status = &ending.status;
    assert!(
        status.message().len() <= MAX_MESSAGE,
        "{context}: a message of {} bytes",
        status.message().len()
    );
    for v in field_violations(status) {
        assert!(
            v.1.len() <= MAX_DESCRIPTION && v.0.len() <= MAX_DESCRIPTION,
            "{context}: a violation of {} bytes",
            v.1.len()
        );
    }
    assert!(
        ending.metadata_bytes < 8192,
        "{context}: {} bytes of status metadata",
        ending.metadata_bytes
    );
}

fn field_violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

fn fields(status: &Status) -> Vec<String> {
    field_violations(status).into_iter().map(|v| v.0).collect()
}

#[tokio::test]
async fn malformed_requests_are_invalid_argument_on_every_method() {
    let contracts = Contracts::load();
    let system = System::start(&[]).await.expect("the three services start");
    let mut channels = HashMap::new();
    for service in [&system.registry, &system.survey, &system.monitoring] {
        channels.insert(service.addr(), service.channel().await.unwrap());
    }
    let mut calls = 0;
    for method in &contracts.methods {
        for case in malformed(&contracts, method) {
            for server in servers(&system, method) {
                let ending = call_raw(
                    &channels[&server.addr()],
                    &method.path,
                    vec![case.body.clone()],
                )
                .await;
                let context = format!("{} with {}", method.path, case.what);
                assert_eq!(
                    ending.status.code(),
                    Code::InvalidArgument,
                    "{context}: {:?}",
                    ending.status
                );
                if case.refused_by_the_wire {
                    assert!(
                        ending.status.message().starts_with("the request "),
                        "{context}: {:?}",
                        ending.status
                    );
                }
                assert_bounded(&context, &ending);
                calls += 1;
            }
        }
    }
    assert!(calls > 1000, "{calls} calls");
    // The same broken stream cut into many DATA frames.
    let mut body = frame(&[]);
    body.extend([0x07, 0, 0, 0, 1, 0]);
    let chunks = body.chunks(2).map(<[u8]>::to_vec).collect();
    let ending = call_raw(
        &channels[&system.registry.addr()],
        "/shequ.registry.v1.DivisionService/GetDivision",
        chunks,
    )
    .await;
    assert_eq!(
        ending.status.code(),
        Code::InvalidArgument,
        "{:?}",
        ending.status
    );
    // Nothing reached the registry's facilities.
    let listed = system
        .facilities()
        .await
        .unwrap()
        .list_facilities(registry::ListFacilitiesRequest {
            parent: "divisions/11".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.facilities.is_empty());
}

/// A frame header claiming `len` bytes, followed by `sent` bytes of them: the refusal must come
/// from the header, before the message is buffered.
fn claimed(len: usize, sent: usize) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend(std::iter::repeat_n(0x20, sent));
    out
}

#[tokio::test]
async fn an_oversized_message_is_resource_exhausted_naming_the_limit() {
    let contracts = Contracts::load();
    let system = System::start(&[]).await.expect("the three services start");
    let limit = 16 << 20;
    let expected = format!(
        "the request message is {} bytes, more than the limit of {limit} bytes",
        limit + 1
    );
    let mut channels = HashMap::new();
    for service in [&system.registry, &system.survey, &system.monitoring] {
        channels.insert(service.addr(), service.channel().await.unwrap());
    }
    for method in &contracts.methods {
        for server in servers(&system, method) {
            let ending = call_raw(
                &channels[&server.addr()],
                &method.path,
                vec![claimed(limit + 1, 4096)],
            )
            .await;
            assert_eq!(
                ending.status.code(),
                Code::ResourceExhausted,
                "{}: {:?}",
                method.path,
                ending.status
            );
            assert_eq!(ending.status.message(), expected, "{}", method.path);
        }
    }
    let registry = &channels[&system.registry.addr()];

    // A whole message over the limit, as a client sends it.
    let mut request = registry::CreateFacilityRequest {
        facility: Some(fixtures::facility(fixtures::SAMPLE_COMMUNITY)),
        ..Default::default()
    };
    request.facility.as_mut().unwrap().address = "路".repeat(limit / 3 + 1);
    let ending = call_raw(
        registry,
        "/shequ.registry.v1.FacilityService/CreateFacility",
        vec![frame(&request.encode_to_vec())],
    )
    .await;
    assert_eq!(
        ending.status.code(),
        Code::ResourceExhausted,
        "{:?}",
        ending.status
    );
    assert!(
        ending
            .status
            .message()
            .ends_with(&format!("the limit of {limit} bytes"))
    );

    // Streamed: the import's second message is over the limit (refused after the first was read).
    let first = registry::ImportDivisionsRequest {
        vintage: "2023".into(),
        file: registry::DivisionFile::Provinces as i32,
        data: b"code,name\n".to_vec(),
        ..Default::default()
    };
    let ending = call_raw(
        registry,
        "/shequ.registry.v1.DivisionService/ImportDivisions",
        vec![frame(&first.encode_to_vec()), claimed(limit + 1, 4096)],
    )
    .await;
    assert_eq!(
        ending.status.code(),
        Code::ResourceExhausted,
        "{:?}",
        ending.status
    );
    assert_eq!(ending.status.message(), expected);

    // Both ways: the bulk submission answers with a stream, so its status comes in the trailers.
    let ending = call_raw(
        &channels[&system.survey.addr()],
        "/shequ.survey.v1.ResponseService/BulkSubmitResponses",
        vec![claimed(limit + 1, 4096)],
    )
    .await;
    assert_eq!(
        ending.status.code(),
        Code::ResourceExhausted,
        "{:?}",
        ending.status
    );
    assert_eq!(ending.status.message(), expected);

    // Health keeps tonic's own limit of 4 MiB, and says so in the same words.
    let ending = call_raw(
        registry,
        "/grpc.health.v1.Health/Check",
        vec![claimed(5 << 20, 4096)],
    )
    .await;
    assert_eq!(
        ending.status.code(),
        Code::ResourceExhausted,
        "{:?}",
        ending.status
    );
    assert_eq!(
        ending.status.message(),
        format!(
            "the request message is {} bytes, more than the limit of {} bytes",
            5 << 20,
            4 << 20
        )
    );
}

#[tokio::test]
async fn the_limit_is_configuration() {
    let database = TestDatabase::fresh().await.unwrap();
    let registry = Launch::new("shequ-registry")
        .database_url(database.url())
        .env("SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES", "true")
        .env("SHEQU__SERVER__MAX_MESSAGE_BYTES", "65536")
        .start()
        .await
        .unwrap();
    let channel = registry.channel().await.unwrap();
    let path = "/shequ.registry.v1.DivisionService/GetDivision";
    let at_limit = length_delimited(1, &vec![b'1'; 65536 - 4]);
    assert_eq!(at_limit.len(), 65536);
    let ending = call_raw(&channel, path, vec![frame(&at_limit)]).await;
    assert_eq!(
        ending.status.code(),
        Code::InvalidArgument,
        "{:?}",
        ending.status
    );
    assert_eq!(fields(&ending.status), ["name"]);
    let over = length_delimited(1, &vec![b'1'; 65536 - 3]);
    let ending = call_raw(&channel, path, vec![frame(&over)]).await;
    assert_eq!(
        ending.status.code(),
        Code::ResourceExhausted,
        "{:?}",
        ending.status
    );
    assert_eq!(
        ending.status.message(),
        "the request message is 65537 bytes, more than the limit of 65536 bytes"
    );
}

#[tokio::test]
async fn a_megabyte_of_input_gets_the_real_error_in_a_short_status() {
    let contracts = Contracts::load();
    let system = System::start(&[]).await.expect("the three services start");
    let megabyte = format!("x{}", "路".repeat(1 << 18));
    let mut channels = HashMap::new();
    for service in [&system.registry, &system.survey, &system.monitoring] {
        channels.insert(service.addr(), service.channel().await.unwrap());
    }
    // Every method with every top-level text field a megabyte long.
    for method in &contracts.methods {
        let message = contracts.with_every_text(&method.input, &megabyte);
        if message.is_empty() {
            continue;
        }
        for server in servers(&system, method) {
            let ending = call_raw(
                &channels[&server.addr()],
                &method.path,
                vec![frame(&message)],
            )
            .await;
            let context = method.path.as_str();
            assert!(
                !matches!(
                    ending.status.code(),
                    Code::ResourceExhausted | Code::Internal | Code::Unknown | Code::Unavailable
                ),
                "{context}: {:?}",
                ending.status
            );
            assert_bounded(context, &ending);
        }
    }

    // A client sees the real error, quoting a short excerpt of the name.
    let name = format!("facilities/{}", "a".repeat(1 << 20));
    let err = system
        .facilities()
        .await
        .unwrap()
        .get_facility(registry::GetFacilityRequest {
            name,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(fields(&err), ["name"]);
    assert!(err.message().len() < 256, "{}", err.message());
    assert!(
        err.message().contains("facilities/aaaa"),
        "{}",
        err.message()
    );
    let err = system
        .divisions()
        .await
        .unwrap()
        .get_division(registry::GetDivisionRequest {
            name: format!("divisions/{}", "1".repeat(1 << 20)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().len() < 256, "{}", err.message());
    let err = system
        .rounds()
        .await
        .unwrap()
        .get_round(survey::GetRoundRequest {
            name: format!("rounds/{}", "r".repeat(1 << 20)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().len() < 256, "{}", err.message());
    let err = system
        .plans()
        .await
        .unwrap()
        .get_plan(shequ_proto::monitoring::v1::GetPlanRequest {
            name: format!("plans/{}", "p".repeat(1 << 20)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().len() < 256, "{}", err.message());
}

#[tokio::test]
async fn control_characters_are_refused_naming_the_field_and_nothing_is_stored() {
    let system = System::start(&[]).await.expect("the three services start");
    let mut facilities = system.facilities().await.unwrap();

    let mut facility = fixtures::facility(fixtures::SAMPLE_COMMUNITY);
    facility.display_name = "社区\0服务站".into();
    facility.address = "示范路\u{1}1 号".into();
    let err = facilities
        .create_facility(registry::CreateFacilityRequest {
            facility: Some(facility),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(fields(&err), ["facility.display_name", "facility.address"]);
    assert!(
        field_violations(&err)[0].1.contains("U+0000"),
        "{:?}",
        field_violations(&err)
    );

    let mut batch = registry::BatchCreateFacilitiesRequest::default();
    for text in ["示范路 1 号", "示范路\u{7f}", "示范路\u{9b}"] {
        let mut facility = fixtures::facility(fixtures::SAMPLE_COMMUNITY);
        facility.address = text.into();
        batch.requests.push(registry::CreateFacilityRequest {
            facility: Some(facility),
            ..Default::default()
        });
    }
    let err = facilities.batch_create_facilities(batch).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(
        fields(&err),
        [
            "requests[1].facility.address",
            "requests[2].facility.address"
        ]
    );

    let listed = facilities
        .list_facilities(registry::ListFacilitiesRequest {
            parent: "divisions/11".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.facilities.is_empty(), "{:?}", listed.facilities);

    // Tab, line feed and carriage return are text.
    let created = facilities
        .create_facility(registry::CreateFacilityRequest {
            facility: Some(fixtures::facility(fixtures::SAMPLE_COMMUNITY)),
            reason: "first line\r\nsecond\tline".into(),
            ..Default::default()
        })
        .await;
    assert!(created.is_ok(), "{created:?}");

    let mut divisions = system.divisions().await.unwrap();
    let err = divisions
        .search_divisions(registry::SearchDivisionsRequest {
            query: "东城\0".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(fields(&err), ["query"]);

    // An import's files are bytes, so the import checks its names itself.
    let err = divisions
        .import_divisions(tokio_stream::iter([registry::ImportDivisionsRequest {
            vintage: "2023".into(),
            file: registry::DivisionFile::Provinces as i32,
            data: "code,name\n12,\"天津\0市\"\n".as_bytes().to_vec(),
            ..Default::default()
        }]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(fields(&err), ["provinces.csv:2"]);
    let err = divisions
        .get_division(registry::GetDivisionRequest {
            name: "divisions/12".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    let mut rounds = system.rounds().await.unwrap();
    let err = rounds
        .create_round(survey::CreateRoundRequest {
            round: Some(survey::Round {
                display_name: "2025 年度\0满意度调查".into(),
                questionnaire: "questionnaires/q1".into(),
                questionnaire_version: 1,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(fields(&err), ["round.display_name"]);
    let err = rounds
        .get_round(survey::GetRoundRequest {
            name: "rounds/\0".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(fields(&err), ["name"]);
    let listed = rounds
        .list_rounds(survey::ListRoundsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.rounds.is_empty(), "{:?}", listed.rounds);

    // In a stream: the fourth response's answer.
    let mut message = survey::BulkSubmitResponsesRequest {
        parent: "rounds/r1".into(),
        ..Default::default()
    };
    for i in 0..4 {
        message.responses.push(survey::Response {
            response_id: format!("r-{i}"),
            answers: vec![survey::Answer {
                question_id: "q_overall".into(),
                value: Some(survey::answer::Value::Text(
                    if i == 3 { "好\0" } else { "好" }.into(),
                )),
            }],
            ..Default::default()
        });
    }
    let mut results = system
        .responses()
        .await
        .unwrap()
        .bulk_submit_responses(tokio_stream::iter([message]))
        .await
        .unwrap()
        .into_inner();
    let err = results.message().await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(fields(&err), ["responses[3].answers[0].text"]);
}
