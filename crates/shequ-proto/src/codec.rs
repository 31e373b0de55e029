//! The codec of every Shequ client and server: prost's, except that a server refuses a request it
//! cannot decode as the client's fault (INVALID_ARGUMENT, where prost says INTERNAL) and refuses
//! text fields holding control characters no text column can store, naming each field.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use prost::{Message, Name};
use prost_types::field_descriptor_proto::{Label, Type};
use shequ_domain::Violations;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic::{Code, Status};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};
use tonic_types::{ErrorDetails, StatusExt};

/// The codec tonic-prost-build puts on every generated client and server.
///
/// Generated servers use `WireCodec<Response, Request>`, clients `WireCodec<Request, Response>`:
/// when the decoded message is the input of a method whose output is the encoded one, this is a
/// server decoding a request, and the request is checked. A client decodes as prost does.
#[derive(Debug)]
pub struct WireCodec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for WireCodec<T, U> {
    fn default() -> Self {
        Self {
            inner: ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for WireCodec<T, U>
where
    T: Message + Name + Send + 'static,
    U: Message + Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = WireDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        WireDecoder {
            inner: self.inner.decoder(),
            request: schema().request(&U::full_name(), &T::full_name()),
        }
    }
}

/// Decodes `U`; see [`WireCodec`].
#[derive(Debug)]
pub struct WireDecoder<U> {
    inner: ProstDecoder<U>,
    /// The schema of `U` when it is a request this server answers.
    request: Option<usize>,
}

impl<U: Message + Name + Default> Decoder for WireDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let Some(index) = self.request else {
            return self.inner.decode(buf);
        };
        // Zero-copy: the decode buffer hands its bytes over, to be walked after prost has read them.
        let bytes = bytes::Buf::copy_to_bytes(buf, bytes::Buf::remaining(buf));
        let message = U::decode(bytes.clone()).map_err(|e| not_decodable::<U>(&e))?;
        let violations = control_characters(index, &bytes);
        if violations.is_empty() {
            Ok(Some(message))
        } else {
            Err(refused(&violations))
        }
    }

    fn buffer_settings(&self) -> tonic::codec::BufferSettings {
        self.inner.buffer_settings()
    }
}

/// The violations a server reports for the text fields of `request` (see [`forbidden_byte`]), for
/// a client that checks before it sends.
pub fn text_violations<M: Message + Name>(request: &M) -> Violations {
    match schema().by_name.get(&M::full_name()) {
        Some(&index) => control_characters(index, &request.encode_to_vec()),
        None => Violations::new(),
    }
}

/// The description of a text field holding a forbidden character (see [`forbidden_byte`]).
fn forbidden_character_description(c: char) -> String {
    format!(
        "must not hold control characters other than tab, line feed and carriage return; \
         found U+{:04X}",
        u32::from(c)
    )
}

/// At most this many violations are gathered from one request.
const MAX_VIOLATIONS: usize = 100;

/// How deep a walk follows nested messages and groups; prost refuses deeper messages too.
const MAX_DEPTH: usize = 100;

fn not_decodable<U: Name>(error: &prost::DecodeError) -> Status {
    let reason = error.to_string();
    let reason = reason
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(&reason);
    Status::invalid_argument(format!(
        "the request is not a valid `{}`: {reason}",
        U::full_name()
    ))
}

fn refused(violations: &Violations) -> Status {
    const SHOWN: usize = 3;
    let mut message = String::from("invalid request: ");
    for (i, v) in violations.iter().take(SHOWN).enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        let _ = write!(message, "{v}");
    }
    if violations.len() > SHOWN {
        let _ = write!(message, "; and {} more", violations.len() - SHOWN);
    }
    let details = ErrorDetails::with_bad_request(
        violations
            .iter()
            .map(|v| tonic_types::FieldViolation::new(v.field.clone(), v.description.clone()))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// The text fields of a request (of schema `index`) holding forbidden characters, by field path
/// (`facility.address`, `requests[3].facility.display_name`). The bytes decode as the request, so
/// the walk finds no malformed data; it stops quietly if it does.
fn control_characters(index: usize, bytes: &[u8]) -> Violations {
    let schema = schema();
    let mut walk = Walk {
        schema,
        path: String::new(),
        found: Violations::new(),
    };
    if schema.messages[index].has_text {
        let _ = walk.message(index, bytes, 0);
    }
    walk.found
}

/// What the walk needs of the contracts: for every message, its text and message fields.
#[derive(Debug)]
struct Schema {
    messages: Vec<MessageSchema>,
    by_name: HashMap<String, usize>,
    /// Input and output type of every method of every service.
    methods: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct MessageSchema {
    /// Text and message fields, by number.
    fields: Vec<FieldSchema>,
    /// Whether a text field lies in it or in a message nested in it.
    has_text: bool,
}

#[derive(Debug)]
struct FieldSchema {
    number: u32,
    name: String,
    repeated: bool,
    kind: FieldKind,
}

#[derive(Debug)]
enum FieldKind {
    Text,
    Message(usize),
}

impl Schema {
    fn from_descriptors(bytes: &[u8]) -> Self {
        let set = prost_types::FileDescriptorSet::decode(bytes)
            .expect("the embedded descriptor set decodes");
        let mut all = Vec::new();
        let mut methods = Vec::new();
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                collect(package, message, &mut all);
            }
            for service in &file.service {
                for method in &service.method {
                    methods.push((
                        method.input_type().trim_start_matches('.').to_owned(),
                        method.output_type().trim_start_matches('.').to_owned(),
                    ));
                }
            }
        }
        let by_name: HashMap<String, usize> = all
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let mut messages: Vec<MessageSchema> = all
            .iter()
            .map(|(_, descriptor)| {
                let mut fields: Vec<FieldSchema> = descriptor
                    .field
                    .iter()
                    .filter_map(|f| {
                        let kind = match f.r#type() {
                            Type::String => FieldKind::Text,
                            Type::Message | Type::Group => FieldKind::Message(
                                *by_name.get(f.type_name().trim_start_matches('.'))?,
                            ),
                            _ => return None,
                        };
                        Some(FieldSchema {
                            number: u32::try_from(f.number()).ok()?,
                            name: f.name().to_owned(),
                            repeated: f.label() == Label::Repeated,
                            kind,
                        })
                    })
                    .collect();
                fields.sort_by_key(|f| f.number);
                MessageSchema {
                    fields,
                    has_text: false,
                }
            })
            .collect();
        // A message holds text if a field is text or a message holding text: iterate to a fixed
        // point, since messages may nest each other.
        loop {
            let mut changed = false;
            for i in 0..messages.len() {
                if messages[i].has_text {
                    continue;
                }
                let has_text = messages[i].fields.iter().any(|f| match f.kind {
                    FieldKind::Text => true,
                    FieldKind::Message(m) => messages[m].has_text,
                });
                if has_text {
                    messages[i].has_text = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Self {
            messages,
            by_name,
            methods,
        }
    }

    /// The schema of `input` when some method takes it and answers `output`.
    fn request(&self, input: &str, output: &str) -> Option<usize> {
        self.methods
            .iter()
            .any(|(i, o)| i == input && o == output)
            .then(|| self.by_name.get(input).copied())
            .flatten()
    }
}

fn collect(
    scope: &str,
    message: &prost_types::DescriptorProto,
    out: &mut Vec<(String, prost_types::DescriptorProto)>,
) {
    let name = if scope.is_empty() {
        message.name().to_owned()
    } else {
        format!("{scope}.{}", message.name())
    };
    for nested in &message.nested_type {
        collect(&name, nested, out);
    }
    out.push((name, message.clone()));
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::from_descriptors(crate::FILE_DESCRIPTOR_SET))
}

/// Data that is not a protobuf message after all; the decoder has refused it already.
#[derive(Debug)]
struct Malformed;

struct Walk<'s> {
    schema: &'s Schema,
    path: String,
    found: Violations,
}

impl Walk<'_> {
    fn message(&mut self, index: usize, mut bytes: &[u8], depth: usize) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(Malformed);
        }
        let schema = self.schema;
        let message = &schema.messages[index];
        // Occurrences so far of each repeated field, for its `[i]`.
        let mut seen: Vec<(u32, usize)> = Vec::new();
        while !bytes.is_empty() {
            if self.found.len() >= MAX_VIOLATIONS {
                return Ok(());
            }
            let key = varint(&mut bytes)?;
            let number = u32::try_from(key >> 3).map_err(|_| Malformed)?;
            match key & 7 {
                0 => {
                    varint(&mut bytes)?;
                }
                1 => bytes = bytes.get(8..).ok_or(Malformed)?,
                5 => bytes = bytes.get(4..).ok_or(Malformed)?,
                3 => bytes = skip_group(number, bytes, depth + 1)?,
                2 => {
                    let len = usize::try_from(varint(&mut bytes)?).map_err(|_| Malformed)?;
                    if len > bytes.len() {
                        return Err(Malformed);
                    }
                    let (value, rest) = bytes.split_at(len);
                    bytes = rest;
                    let Ok(at) = message.fields.binary_search_by_key(&number, |f| f.number) else {
                        continue;
                    };
                    let field = &message.fields[at];
                    let position = if field.repeated {
                        let count = match seen.iter_mut().find(|(n, _)| *n == number) {
                            Some((_, count)) => {
                                *count += 1;
                                *count - 1
                            }
                            None => {
                                seen.push((number, 1));
                                0
                            }
                        };
                        Some(count)
                    } else {
                        None
                    };
                    let before = self.path.len();
                    match field.kind {
                        FieldKind::Text => {
                            if let Some(c) = forbidden_byte(value) {
                                self.enter(&field.name, position);
                                self.found
                                    .push(self.path.clone(), forbidden_character_description(c));
                            }
                        }
                        FieldKind::Message(nested) if schema.messages[nested].has_text => {
                            self.enter(&field.name, position);
                            let result = self.message(nested, value, depth + 1);
                            self.path.truncate(before);
                            result?;
                        }
                        FieldKind::Message(_) => {}
                    }
                    self.path.truncate(before);
                }
                _ => return Err(Malformed),
            }
        }
        Ok(())
    }

    /// Extends the path by a field (`.name`, `.name[i]`); the caller truncates it again.
    fn enter(&mut self, name: &str, position: Option<usize>) {
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(name);
        if let Some(i) = position {
            let _ = write!(self.path, "[{i}]");
        }
    }
}

/// The first character of UTF-8 text that a text field may not hold: a control character
/// (Unicode `Cc`: U+0000 to U+001F and U+007F to U+009F) other than tab, line feed and carriage
/// return. PostgreSQL's text columns cannot hold U+0000 at all; the rest are refused alike on every
/// backend. Found on the bytes: C0 controls and DEL are single bytes, C1 controls `C2 80` to `C2 9F`.
fn forbidden_byte(text: &[u8]) -> Option<char> {
    for (i, &b) in text.iter().enumerate() {
        if (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f {
            return Some(char::from(b));
        }
        if b == 0xc2
            && let Some(&next) = text.get(i + 1)
            && (0x80..=0x9f).contains(&next)
        {
            return Some(char::from(next));
        }
    }
    None
}

fn varint(bytes: &mut &[u8]) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for shift in 0..10 {
        let (&b, rest) = bytes.split_first().ok_or(Malformed)?;
        *bytes = rest;
        value |= u64::from(b & 0x7f) << (7 * shift);
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

/// Skips a group's fields up to its end tag; the groups of proto2 can only be unknown fields here.
fn skip_group(number: u32, mut bytes: &[u8], depth: usize) -> Result<&[u8], Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed);
    }
    loop {
        let key = varint(&mut bytes)?;
        let inner = u32::try_from(key >> 3).map_err(|_| Malformed)?;
        match key & 7 {
            0 => {
                varint(&mut bytes)?;
            }
            1 => bytes = bytes.get(8..).ok_or(Malformed)?,
            5 => bytes = bytes.get(4..).ok_or(Malformed)?,
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).map_err(|_| Malformed)?;
                bytes = bytes.get(len..).ok_or(Malformed)?;
            }
            3 => bytes = skip_group(inner, bytes, depth + 1)?,
            4 if inner == number => return Ok(bytes),
            _ => return Err(Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::v1 as pb;

    fn walk<M: Message + Name>(message: &M) -> Vec<(String, String)> {
        text_violations(message)
            .into_vec()
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    }

    fn facility(display_name: &str, address: &str) -> pb::Facility {
        pb::Facility {
            display_name: display_name.into(),
            address: address.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_method_takes_a_known_message() {
        let schema = schema();
        assert!(schema.methods.len() > 40, "{}", schema.methods.len());
        for (input, output) in &schema.methods {
            assert!(schema.request(input, output).is_some(), "{input}");
            // A client decodes the output: never checked as a request.
            assert!(schema.request(output, input).is_none(), "{output}");
        }
        assert!(schema.messages[schema.by_name["google.protobuf.FieldMask"]].has_text);
        assert!(!schema.messages[schema.by_name["google.protobuf.Timestamp"]].has_text);
    }

    #[test]
    fn servers_check_requests_and_clients_decode_as_prost_does() {
        let server =
            WireCodec::<pb::CreateFacilityResponse, pb::CreateFacilityRequest>::default().decoder();
        assert!(server.request.is_some());
        let client =
            WireCodec::<pb::CreateFacilityRequest, pb::CreateFacilityResponse>::default().decoder();
        assert!(client.request.is_none());
    }

    #[test]
    fn control_characters_are_found_by_field_path() {
        let request = pb::CreateFacilityRequest {
            facility: Some(facility("站\0", "路\u{1b}[31m")),
            request_id: "tab\tnewline\ncarriage return\r".into(),
            reason: "next line\u{85}".into(),
        };
        assert_eq!(
            walk(&request),
            [
                (
                    "facility.display_name".to_owned(),
                    forbidden_character_description('\0')
                ),
                (
                    "facility.address".to_owned(),
                    forbidden_character_description('\u{1b}')
                ),
                (
                    "reason".to_owned(),
                    forbidden_character_description('\u{85}')
                ),
            ]
        );
        assert!(
            walk(&pb::CreateFacilityRequest {
                facility: Some(facility("社区综合服务站", "东城区前门东大街 1 号")),
                request_id: "a\tb\nc\rd".into(),
                reason: "\u{a0}\u{7e}".into(),
            })
            .is_empty()
        );
    }

    #[test]
    fn repeated_fields_are_numbered() {
        let batch = pb::BatchCreateFacilitiesRequest {
            parent: String::new(),
            requests: vec![
                pb::CreateFacilityRequest {
                    facility: Some(facility("一", "")),
                    ..Default::default()
                },
                pb::CreateFacilityRequest {
                    facility: Some(facility("二", "\u{7f}")),
                    ..Default::default()
                },
            ],
        };
        let fields: Vec<_> = walk(&batch).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["requests[1].facility.address"]);
        let update = pb::UpdateFacilityRequest {
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["address".into(), "status\0".into()],
            }),
            ..Default::default()
        };
        let fields: Vec<_> = walk(&update).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["update_mask.paths[1]"]);
    }

    #[test]
    fn unknown_fields_and_groups_do_not_hide_text() {
        let mut bytes = Vec::new();
        // Field 99 as a group holding a varint, then field 98 as a fixed64: unknown to the message.
        bytes.extend_from_slice(&[0x9b, 0x06, 0x08, 0x01, 0x9c, 0x06]);
        bytes.extend_from_slice(&[0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
        bytes.extend_from_slice(
            &pb::SearchDivisionsRequest {
                query: "东\0".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        );
        let index = schema().by_name["shequ.registry.v1.SearchDivisionsRequest"];
        let found = control_characters(index, &bytes).into_vec();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "query");
        assert!(pb::SearchDivisionsRequest::decode(&bytes[..]).is_ok());
    }

    #[test]
    fn the_byte_scan_agrees_with_unicode() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let mut buf = [0; 4];
            let forbidden = c.is_control() && !matches!(c, '\t' | '\n' | '\r');
            let text = c.encode_utf8(&mut buf);
            assert_eq!(
                forbidden_byte(text.as_bytes()),
                forbidden.then_some(c),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn refusals_are_short_and_name_the_fields() {
        let mut violations = Violations::new();
        for i in 0..5 {
            violations.push(
                format!("requests[{i}].reason"),
                forbidden_character_description('\0'),
            );
        }
        let status = refused(&violations);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().ends_with("; and 2 more"),
            "{}",
            status.message()
        );
        let details = status.get_details_bad_request().unwrap();
        assert_eq!(details.field_violations.len(), 5);
        let error = pb::CreateFacilityRequest::decode(&[0x0f, 0x00][..]).unwrap_err();
        let status = not_decodable::<pb::CreateFacilityRequest>(&error);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().starts_with(
                "the request is not a valid `shequ.registry.v1.CreateFacilityRequest`: "
            ),
            "{}",
            status.message()
        );
    }
}
