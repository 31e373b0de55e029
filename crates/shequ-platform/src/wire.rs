//! The gRPC wire at the edge of every server, below the codec: request bodies are checked frame by
//! frame (a message over `server.max_message_bytes` is RESOURCE_EXHAUSTED naming the limit, a
//! broken frame INVALID_ARGUMENT), and every error status leaves bounded, so that a client can
//! always read it.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use bytes::Bytes;
use http::HeaderMap;
use http_body::Frame;
use prost::Message as _;
use tonic::body::Body;
use tonic::{Code, Status};

/// Longest `grpc-message` a server sends, in bytes before percent-encoding. Percent-encoding
/// triples Chinese text, and common clients refuse metadata over 8 or 16 KiB.
pub const MAX_STATUS_MESSAGE_BYTES: usize = 512;

/// Longest field path or description of one field violation, in bytes.
pub const MAX_VIOLATION_BYTES: usize = 256;

/// Largest `grpc-status-details-bin`, in bytes before base64; violations beyond it are left out,
/// and the message says how many the details hold.
pub const MAX_STATUS_DETAILS_BYTES: usize = 4096;

/// See the module documentation. Sits between the metrics and the authentication layers, so the
/// metrics see the codes clients get and every refusal, authentication's too, is bounded.
#[derive(Debug, Clone, Copy)]
pub struct WireLayer {
    max_message_bytes: usize,
}

impl WireLayer {
    /// `max_message_bytes`: the largest request message any service of this server accepts.
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> tower::Layer<S> for WireLayer {
    type Service = WireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WireService {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// See [`WireLayer`].
#[derive(Debug, Clone)]
pub struct WireService<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S> tower::Service<http::Request<Body>> for WireService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let limit = self.max_message_bytes;
        let request = request.map(|body| Body::new(CheckedFrames::new(body, limit)));
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            // A refusal before any message travels in the headers (trailers-only); any other
            // status in the trailers.
            bound_status(response.headers_mut());
            Ok(response.map(|body| Body::new(BoundedTrailers { inner: body })))
        })
    }
}

/// A request body passed through while its gRPC frames (flag byte, 4-byte length, message) are
/// followed, so a frame that cannot be one is refused before the codec sees it.
struct CheckedFrames {
    inner: Body,
    limit: usize,
    header: [u8; 5],
    /// Header bytes of the current frame seen so far.
    header_seen: usize,
    /// Length of the current frame's message, and how much of it is still to come.
    message: Option<(usize, usize)>,
    /// A refusal to give after the data that came before it.
    refusal: Option<Status>,
    ended: bool,
}

impl CheckedFrames {
    fn new(inner: Body, limit: usize) -> Self {
        Self {
            inner,
            limit,
            header: [0; 5],
            header_seen: 0,
            message: None,
            refusal: None,
            ended: false,
        }
    }

    /// Follows the frames through `data`; on a bad header, where in `data` its frame begins (the
    /// data before it is passed on) and the refusal.
    fn follow(&mut self, data: &[u8]) -> Result<(), (usize, Status)> {
        let mut at = 0;
        let mut frame_start = 0;
        while at < data.len() {
            if let Some((len, left)) = self.message {
                let take = left.min(data.len() - at);
                at += take;
                self.message = (left > take).then_some((len, left - take));
                continue;
            }
            if self.header_seen == 0 {
                frame_start = at;
            }
            let take = (5 - self.header_seen).min(data.len() - at);
            self.header[self.header_seen..self.header_seen + take]
                .copy_from_slice(&data[at..at + take]);
            self.header_seen += take;
            at += take;
            if self.header_seen < 5 {
                break;
            }
            self.header_seen = 0;
            let flag = self.header[0];
            let len = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]) as usize;
            // Flag 1 (compressed) is tonic's to judge against `grpc-encoding`.
            if flag > 1 {
                return Err((
                    frame_start,
                    Status::invalid_argument(format!(
                        "the request is not a stream of gRPC messages: a message starts with the \
                         flag byte {flag:#04x}, not 0 or 1"
                    )),
                ));
            }
            if len > self.limit {
                return Err((frame_start, too_large("request", len, self.limit)));
            }
            if len > 0 {
                self.message = Some((len, len));
            }
        }
        Ok(())
    }

    fn unfinished(&self) -> Option<Status> {
        if let Some((len, left)) = self.message {
            Some(Status::invalid_argument(format!(
                "the request ends inside a message: {} of its {len} bytes arrived",
                len - left
            )))
        } else if self.header_seen > 0 {
            Some(Status::invalid_argument(
                "the request ends inside a message's 5-byte header",
            ))
        } else {
            None
        }
    }
}

impl http_body::Body for CheckedFrames {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if let Some(refusal) = this.refusal.take() {
            this.ended = true;
            return Poll::Ready(Some(Err(refusal)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(bytes) => match this.follow(&bytes) {
                    Ok(()) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                    Err((0, refusal)) => {
                        this.ended = true;
                        Poll::Ready(Some(Err(refusal)))
                    }
                    Err((good, refusal)) => {
                        this.refusal = Some(refusal);
                        Poll::Ready(Some(Ok(Frame::data(bytes.slice(..good)))))
                    }
                },
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Some(Err(e)) => {
                this.ended = true;
                Poll::Ready(Some(Err(e)))
            }
            None => {
                this.ended = true;
                Poll::Ready(this.unfinished().map(Err))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.refusal.is_none()
            && (self.ended || (self.inner.is_end_stream() && self.unfinished().is_none()))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A response body whose trailers, where a streamed call's status travels, are bounded.
struct BoundedTrailers {
    inner: Body,
}

impl http_body::Body for BoundedTrailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(frame.map(|frame| {
            frame.map(|frame| match frame.into_trailers() {
                Ok(mut trailers) => {
                    bound_status(&mut trailers);
                    Frame::trailers(trailers)
                }
                Err(frame) => frame,
            })
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn too_large(what: &str, len: usize, limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "the {what} message is {len} bytes, more than the limit of {limit} bytes"
    ))
}

/// Rewrites the status in `headers` (response headers or trailers), if any, so that it is bounded:
/// the message to [`MAX_STATUS_MESSAGE_BYTES`], each field violation to [`MAX_VIOLATION_BYTES`],
/// the details to [`MAX_STATUS_DETAILS_BYTES`]. tonic's own words for a message over the size
/// limit (OUT_OF_RANGE) become RESOURCE_EXHAUSTED naming the limit, and a unary call without a
/// message (INTERNAL) is INVALID_ARGUMENT.
pub fn bound_status(headers: &mut HeaderMap) {
    let Some(code) = headers.get(Status::GRPC_STATUS) else {
        return;
    };
    let code = Code::from_bytes(code.as_bytes());
    if code == Code::Ok {
        return;
    }
    let message = headers
        .get(Status::GRPC_MESSAGE)
        .map(|v| percent_decode(v.as_bytes()))
        .unwrap_or_default();
    let details = headers
        .get(Status::GRPC_STATUS_DETAILS)
        .and_then(|v| BASE64.decode(v.as_bytes()).ok());

    let (new_code, new_message) = translate(code, &message);
    let mut new_message = truncated(&new_message, MAX_STATUS_MESSAGE_BYTES).into_owned();
    let new_details = details
        .as_deref()
        .map(|d| bound_details(d, &mut new_message));
    let unchanged = new_code == code
        && new_message == message
        && match (&details, &new_details) {
            (Some(old), Some(new)) => old == new,
            _ => true,
        };
    if unchanged {
        return;
    }
    let status = Status::with_details(
        new_code,
        new_message,
        Bytes::from(new_details.unwrap_or_default()),
    );
    let mut fresh = HeaderMap::new();
    if status.add_header(&mut fresh).is_err() {
        // tonic percent-encodes the message, so this cannot fail; were it to, say only the code.
        fresh.clear();
        fresh.insert(
            Status::GRPC_STATUS,
            http::HeaderValue::from(new_code as i32),
        );
    }
    headers.remove(Status::GRPC_MESSAGE);
    headers.remove(Status::GRPC_STATUS_DETAILS);
    for (name, value) in fresh.iter() {
        headers.insert(name.clone(), value.clone());
    }
}

/// tonic's texts for conditions of the wire that are the client's doing, in the project's words.
fn translate(code: Code, message: &str) -> (Code, Cow<'_, str>) {
    let sizes = |rest: &str| -> Option<(usize, usize)> {
        let (len, limit) = rest.split_once(" bytes, the limit is: ")?;
        Some((
            len.parse().ok()?,
            limit.strip_suffix(" bytes")?.parse().ok()?,
        ))
    };
    for (prefix, what) in [
        ("Error, decoded message length too large: found ", "request"),
        (
            "Error, encoded message length too large: found ",
            "response",
        ),
    ] {
        if code == Code::OutOfRange
            && let Some(rest) = message.strip_prefix(prefix)
        {
            let status = match sizes(rest) {
                Some((len, limit)) => too_large(what, len, limit),
                None => Status::resource_exhausted(format!(
                    "the {what} message is larger than the limit"
                )),
            };
            return (status.code(), Cow::Owned(status.message().to_owned()));
        }
    }
    if code == Code::Internal && message == "Missing request message." {
        return (
            Code::InvalidArgument,
            Cow::Borrowed("the request carries no message"),
        );
    }
    (code, Cow::Borrowed(message))
}

/// The details (an encoded `google.rpc.Status`) with every field violation cut to
/// [`MAX_VIOLATION_BYTES`] and as many of them as fit in [`MAX_STATUS_DETAILS_BYTES`]; `message`
/// (already bounded) replaces the copy inside and says when violations were left out. Details that
/// do not decode, or hold other large parts, are dropped: the code and message still travel.
fn bound_details(details: &[u8], message: &mut String) -> Vec<u8> {
    let Ok(mut status) = tonic_types::pb::Status::decode(details) else {
        return Vec::new();
    };
    let mut budget = MAX_STATUS_DETAILS_BYTES.saturating_sub(MAX_STATUS_MESSAGE_BYTES + 64);
    let mut left_out = (0, 0);
    for any in &mut status.details {
        if any.type_url != "type.googleapis.com/google.rpc.BadRequest" {
            budget = budget.saturating_sub(any.encoded_len());
            continue;
        }
        let Ok(mut bad) = tonic_types::pb::BadRequest::decode(any.value.as_slice()) else {
            continue;
        };
        let total = bad.field_violations.len();
        let mut kept = Vec::new();
        for mut v in bad.field_violations.drain(..) {
            v.field = truncated(&v.field, MAX_VIOLATION_BYTES).into_owned();
            v.description = truncated(&v.description, MAX_VIOLATION_BYTES).into_owned();
            v.reason = truncated(&v.reason, MAX_VIOLATION_BYTES).into_owned();
            v.localized_message = None;
            let size = v.encoded_len() + 4;
            if size > budget {
                break;
            }
            budget -= size;
            kept.push(v);
        }
        if kept.len() < total {
            left_out = (kept.len(), total);
        }
        bad.field_violations = kept;
        any.value = bad.encode_to_vec();
    }
    let (kept, total) = left_out;
    if total > 0 {
        let note = format!(" (the details hold the first {kept} of {total} violations)");
        let room = MAX_STATUS_MESSAGE_BYTES.saturating_sub(note.len());
        *message = format!("{}{note}", truncated(message, room));
    }
    status.message = message.clone();
    let encoded = status.encode_to_vec();
    if encoded.len() > MAX_STATUS_DETAILS_BYTES {
        return Vec::new();
    }
    encoded
}

/// `text` cut on a character boundary to at most `max` bytes, ending with `…` when cut.
fn truncated(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// `grpc-message` is percent-encoded UTF-8; bytes that do not decode are replaced.
fn percent_decode(value: &[u8]) -> String {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%'
            && let (Some(h), Some(l)) = (
                value.get(i + 1).and_then(|&b| hex(b)),
                value.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(value[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `grpc-status-details-bin` is base64, padded or not.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use http_body::Body as _;
    use tonic_types::{ErrorDetails, FieldViolation, StatusExt as _};

    use super::*;

    /// A body of the given chunks, one DATA frame each.
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

    fn frame(message: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&(message.len() as u32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    /// What the codec would see: the data passed on, then the refusal, if any.
    async fn pass(chunks: &[&[u8]], limit: usize) -> (Vec<u8>, Option<Status>) {
        let body = Chunks(chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect());
        let mut checked = CheckedFrames::new(Body::new(body), limit);
        let mut data = Vec::new();
        loop {
            match std::future::poll_fn(|cx| Pin::new(&mut checked).poll_frame(cx)).await {
                None => return (data, None),
                Some(Ok(frame)) => data.extend_from_slice(&frame.into_data().unwrap()),
                Some(Err(status)) => return (data, Some(status)),
            }
        }
    }

    #[tokio::test]
    async fn good_frames_pass_unchanged_however_they_are_cut() {
        let mut stream = frame(b"\x0a\x03abc");
        stream.extend(frame(b""));
        stream.extend(frame(&[7; 300]));
        for cut in [1, 2, 5, 6, 13, 100] {
            let chunks: Vec<&[u8]> = stream.chunks(cut).collect();
            let (data, refusal) = pass(&chunks, 300).await;
            assert_eq!(data, stream, "cut {cut}");
            assert!(refusal.is_none(), "cut {cut}: {refusal:?}");
        }
    }

    #[tokio::test]
    async fn a_bad_flag_is_refused_after_the_good_frames_before_it() {
        let mut stream = frame(b"\x0a\x01a");
        let good = stream.len();
        stream.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
        let (data, refusal) = pass(&[&stream], 1024).await;
        assert_eq!(data, stream[..good]);
        let refusal = refusal.unwrap();
        assert_eq!(refusal.code(), Code::InvalidArgument);
        assert!(refusal.message().contains("0xde"), "{}", refusal.message());
        // The compressed flag is left to tonic, which knows the call's `grpc-encoding`.
        let (_, refusal) = pass(&[&[1, 0, 0, 0, 1, 0]], 1024).await;
        assert!(refusal.is_none());
    }

    #[tokio::test]
    async fn a_frame_over_the_limit_is_refused_before_its_message_arrives() {
        let header = [0, 0, 0x01, 0x00, 0x01];
        let (data, refusal) = pass(&[&frame(b"\x08\x01"), &header[..3], &header[3..]], 65536).await;
        assert_eq!(data, [&frame(b"\x08\x01")[..], &header[..3]].concat());
        let refusal = refusal.unwrap();
        assert_eq!(refusal.code(), Code::ResourceExhausted);
        assert_eq!(
            refusal.message(),
            "the request message is 65537 bytes, more than the limit of 65536 bytes"
        );
    }

    #[tokio::test]
    async fn a_stream_ending_inside_a_frame_is_refused() {
        let (_, refusal) = pass(&[&frame(b""), &[0, 0, 0, 0, 9, 1, 2]], 1024).await;
        let refusal = refusal.unwrap();
        assert_eq!(refusal.code(), Code::InvalidArgument);
        assert_eq!(
            refusal.message(),
            "the request ends inside a message: 2 of its 9 bytes arrived"
        );
        let (_, refusal) = pass(&[&frame(b""), &[0, 0]], 1024).await;
        assert_eq!(refusal.unwrap().code(), Code::InvalidArgument);
        let (_, refusal) = pass(&[], 1024).await;
        assert!(refusal.is_none());
    }

    fn headers_of(status: &Status) -> HeaderMap {
        let mut headers = HeaderMap::new();
        status.add_header(&mut headers).unwrap();
        headers
    }

    fn bounded(status: &Status) -> Status {
        let mut headers = headers_of(status);
        bound_status(&mut headers);
        Status::from_header_map(&headers).unwrap()
    }

    #[test]
    fn short_statuses_are_left_alone() {
        let status = Status::with_error_details(
            Code::InvalidArgument,
            "invalid request: `name`: must look like `facilities/{id}`",
            ErrorDetails::with_bad_request(vec![FieldViolation::new("name", "must look like")]),
        );
        let mut headers = headers_of(&status);
        let before = headers.clone();
        bound_status(&mut headers);
        assert_eq!(headers, before);
        let mut ok = HeaderMap::new();
        ok.insert(Status::GRPC_STATUS, http::HeaderValue::from(0));
        bound_status(&mut ok);
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn long_messages_and_violations_are_cut() {
        let long = "路".repeat(1 << 20);
        let status = Status::with_error_details(
            Code::InvalidArgument,
            format!("invalid request: `address`: {long}"),
            ErrorDetails::with_bad_request(vec![FieldViolation::new("address", long.clone())]),
        );
        let headers = {
            let mut h = headers_of(&status);
            bound_status(&mut h);
            h
        };
        let size: usize = headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len())
            .sum();
        assert!(size < 8192, "{size} bytes of headers");
        let status = Status::from_header_map(&headers).unwrap();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().len() <= MAX_STATUS_MESSAGE_BYTES);
        assert!(
            status
                .message()
                .starts_with("invalid request: `address`: 路路")
        );
        assert!(status.message().ends_with('…'));
        let violations = status.get_details_bad_request().unwrap().field_violations;
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "address");
        assert!(violations[0].description.len() <= MAX_VIOLATION_BYTES);
    }

    #[test]
    fn many_violations_are_left_out_and_counted() {
        let violations: Vec<_> = (0..1000)
            .map(|i| {
                FieldViolation::new(
                    format!("requests[{i}].facility.address"),
                    "must not be empty",
                )
            })
            .collect();
        let status = bounded(&Status::with_error_details(
            Code::InvalidArgument,
            "invalid request: `requests[0].facility.address`: must not be empty; and 999 more",
            ErrorDetails::with_bad_request(violations),
        ));
        let kept = status.get_details_bad_request().unwrap().field_violations;
        assert!(kept.len() > 10 && kept.len() < 1000, "{}", kept.len());
        assert_eq!(kept[0].field, "requests[0].facility.address");
        assert!(
            status.message().ends_with(&format!(
                "(the details hold the first {} of 1000 violations)",
                kept.len()
            )),
            "{}",
            status.message()
        );
        assert!(status.details().len() <= MAX_STATUS_DETAILS_BYTES);
    }

    #[test]
    fn tonic_size_refusals_name_the_limit() {
        let status = bounded(&Status::out_of_range(
            "Error, decoded message length too large: found 5242880 bytes, the limit is: 4194304 bytes",
        ));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "the request message is 5242880 bytes, more than the limit of 4194304 bytes"
        );
        let status = bounded(&Status::out_of_range(
            "Error, encoded message length too large: found 17 bytes, the limit is: 16 bytes",
        ));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(
            status
                .message()
                .starts_with("the response message is 17 bytes")
        );
        // A service's own OUT_OF_RANGE stays.
        let status = bounded(&Status::out_of_range("page past the end"));
        assert_eq!(status.code(), Code::OutOfRange);
        let status = bounded(&Status::internal("Missing request message."));
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    #[test]
    fn percent_decoding_round_trips_tonic() {
        let text = "路 100% `a`\u{1}";
        let headers = headers_of(&Status::internal(text));
        assert_eq!(
            percent_decode(headers[Status::GRPC_MESSAGE].as_bytes()),
            text
        );
    }
}
