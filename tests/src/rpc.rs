//! Any Shequ method called by its full name, the way the descriptor set describes it (unary,
//! client, server or bidirectional streaming), with requests built from the generated types and
//! sent encoded. The suites that walk every method (`robustness`, `authorization`) list their
//! cases per method name and call through here, so one table covers every RPC.

use std::time::Duration;

use prost::Message;
use prost_types::FileDescriptorSet;
use tokio_stream::StreamExt;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Longest a call of the suites may take, its stream drained: far beyond what any takes, so a
/// call that never ends fails the test instead of hanging it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// One method of the descriptor set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// `/package.Service/Method`, as on the wire and in `shequ_platform::auth::policy`.
    pub path: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

impl Method {
    /// `Service/Method`, for messages.
    pub fn short(&self) -> &str {
        self.path
            .rsplit_once('.')
            .map_or(self.path.as_str(), |(_, s)| s)
    }
}

/// Every method of every service in `shequ_proto::FILE_DESCRIPTOR_SET`.
pub fn described_methods() -> Vec<Method> {
    let set = FileDescriptorSet::decode(shequ_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes");
    let mut methods = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                methods.push(Method {
                    path: format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                    client_streaming: method.client_streaming(),
                    server_streaming: method.server_streaming(),
                });
            }
        }
    }
    methods
}

/// The described method named `name`, in full (`/shequ.survey.v1.RoundService/GetRound`) or
/// short (`RoundService/GetRound`; service names are unique across packages); `None` when no
/// service has it.
pub fn method(name: &str) -> Option<&'static Method> {
    static METHODS: std::sync::OnceLock<Vec<Method>> = std::sync::OnceLock::new();
    METHODS
        .get_or_init(described_methods)
        .iter()
        .find(|m| m.path == name || m.short() == name)
}

/// The service a method belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Server {
    Registry,
    Survey,
    Monitoring,
}

impl Server {
    pub const ALL: [Server; 3] = [Server::Registry, Server::Survey, Server::Monitoring];

    /// The server of a method; `None` for `shequ.audit.v1.AuditService`, which all three serve.
    pub fn of(path: &str) -> Option<Server> {
        if path.starts_with("/shequ.registry.") {
            Some(Server::Registry)
        } else if path.starts_with("/shequ.survey.") {
            Some(Server::Survey)
        } else if path.starts_with("/shequ.monitoring.") {
            Some(Server::Monitoring)
        } else {
            None
        }
    }
}

/// A request's messages, encoded: one for a unary or server-streaming method, any number for a
/// client-streaming one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Messages(pub Vec<Vec<u8>>);

impl Messages {
    pub fn one(message: &impl Message) -> Self {
        Self(vec![message.encode_to_vec()])
    }

    pub fn stream<M: Message>(messages: &[M]) -> Self {
        Self(messages.iter().map(Message::encode_to_vec).collect())
    }
}

/// Calls `method` on `channel` with `messages`, bearing `token` when given, and drains the answer:
/// every response message, or the status the call (or its stream, at any point) ended with.
pub async fn call(
    channel: Channel,
    method: &Method,
    messages: &Messages,
    token: Option<&str>,
) -> Result<Vec<Vec<u8>>, Status> {
    assert!(
        method.client_streaming || messages.0.len() == 1,
        "{} takes exactly one request message",
        method.path
    );
    match tokio::time::timeout(CALL_TIMEOUT, call_inner(channel, method, messages, token)).await {
        Ok(result) => result,
        Err(_) => Err(Status::deadline_exceeded(format!(
            "{} took longer than {CALL_TIMEOUT:?}",
            method.path
        ))),
    }
}

async fn call_inner(
    channel: Channel,
    method: &Method,
    messages: &Messages,
    token: Option<&str>,
) -> Result<Vec<Vec<u8>>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(64 << 20);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("the channel is not ready: {e}")))?;
    let path: http::uri::PathAndQuery = method.path.parse().expect("a method path");
    let replies = match (method.client_streaming, method.server_streaming) {
        (false, false) => {
            let request = bearer(messages.0[0].clone(), token);
            vec![grpc.unary(request, path, Raw).await?.into_inner()]
        }
        (false, true) => {
            let request = bearer(messages.0[0].clone(), token);
            drain(
                grpc.server_streaming(request, path, Raw)
                    .await?
                    .into_inner(),
            )
            .await?
        }
        (true, false) => {
            let request = bearer(tokio_stream::iter(messages.0.clone()), token);
            vec![
                grpc.client_streaming(request, path, Raw)
                    .await?
                    .into_inner(),
            ]
        }
        (true, true) => {
            let request = bearer(tokio_stream::iter(messages.0.clone()), token);
            drain(grpc.streaming(request, path, Raw).await?.into_inner()).await?
        }
    };
    Ok(replies)
}

/// `message` as a request, with `authorization: Bearer <token>` when a token is given.
fn bearer<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("a token is ASCII"),
        );
    }
    request
}

async fn drain(mut stream: tonic::Streaming<Vec<u8>>) -> Result<Vec<Vec<u8>>, Status> {
    let mut out = Vec::new();
    while let Some(message) = stream.next().await {
        out.push(message?);
    }
    Ok(out)
}

/// The code of a call's outcome, `Code::Ok` for success.
pub fn code_of<T>(result: &Result<T, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Messages as bytes both ways: the suites encode with the generated types and decode only what
/// they look at.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        use bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}
