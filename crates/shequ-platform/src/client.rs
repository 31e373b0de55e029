//! Calls one service makes to another: the channel (TLS or mutual TLS when configured) and the
//! interceptor that carries the trace context and the calling service's own credentials, so the
//! called service sees a `service` principal rather than the official whose call caused it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::telemetry::TraceContextInterceptor;

/// `[client]`: how this service authenticates to the services it calls. Empty means no
/// credentials (development mode on the other side).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// A file holding this service's bearer token (a JWT with the `service` role and national
    /// scope, issued by the same issuer the called services trust). Reread when it changes, so a
    /// token refreshed on disk (a projected Secret) is used without a restart.
    pub token_file: String,
    /// PEM CA certificates the called services' certificates are verified against; needed for
    /// `https://` endpoints.
    pub ca_file: String,
    /// PEM client certificate chain presented for mutual TLS (with `key_file`); under mutual TLS
    /// the called service takes it for a `service` identity named by its DNS name.
    pub cert_file: String,
    /// PEM private key of `cert_file`.
    pub key_file: String,
    /// The server name to verify instead of the endpoint's host.
    pub domain_name: String,
}

/// A configuration that cannot be used, naming the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    #[error("client.{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("{endpoint}: {message}")]
    Endpoint { endpoint: String, message: String },
}

fn field(field: &'static str, message: impl Into<String>) -> ClientConfigError {
    ClientConfigError::Field {
        field,
        message: message.into(),
    }
}

fn read(name: &'static str, path: &str) -> Result<Vec<u8>, ClientConfigError> {
    std::fs::read(Path::new(path)).map_err(|e| field(name, format!("cannot read `{path}`: {e}")))
}

impl ClientConfig {
    /// The interceptor for calls made with these credentials; fails when the token file cannot
    /// be read or holds no token.
    pub fn interceptor(&self) -> Result<ServiceInterceptor, ClientConfigError> {
        let token = if self.token_file.is_empty() {
            None
        } else {
            Some(Arc::new(TokenFile::load(&self.token_file, RECHECK)?))
        };
        Ok(ServiceInterceptor { token })
    }

    /// A lazily connected channel to `endpoint`: TLS for `https://` endpoints (verified against
    /// `ca_file`, presenting `cert_file` when set), plaintext for `http://`.
    pub fn channel(&self, endpoint: &str, timeout: Duration) -> Result<Channel, ClientConfigError> {
        let bad = |message: String| ClientConfigError::Endpoint {
            endpoint: endpoint.to_owned(),
            message,
        };
        let mut builder = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| bad(e.to_string()))?
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout);
        if self.cert_file.is_empty() != self.key_file.is_empty() {
            return Err(field(
                if self.cert_file.is_empty() {
                    "cert_file"
                } else {
                    "key_file"
                },
                "a client certificate needs both cert_file and key_file",
            ));
        }
        if endpoint.starts_with("https://") {
            if self.ca_file.is_empty() {
                return Err(field(
                    "ca_file",
                    format!(
                        "`{endpoint}` uses TLS: set the CA its certificate is verified against"
                    ),
                ));
            }
            let mut tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(read("ca_file", &self.ca_file)?));
            if !self.cert_file.is_empty() {
                tls = tls.identity(Identity::from_pem(
                    read("cert_file", &self.cert_file)?,
                    read("key_file", &self.key_file)?,
                ));
            }
            if !self.domain_name.is_empty() {
                tls = tls.domain_name(self.domain_name.clone());
            }
            builder = builder.tls_config(tls).map_err(|e| bad(e.to_string()))?;
        } else if !self.cert_file.is_empty() || !self.ca_file.is_empty() {
            return Err(bad(
                "TLS settings are configured but the endpoint is not https://".to_owned(),
            ));
        }
        Ok(builder.connect_lazy())
    }
}

/// A channel whose calls carry the trace context and this service's credentials.
pub type ServiceChannel = InterceptedService<Channel, ServiceInterceptor>;

/// Client interceptor: the trace context (as [`TraceContextInterceptor`]) and, when configured,
/// `authorization: Bearer <token>` from the token file.
#[derive(Debug, Clone, Default)]
pub struct ServiceInterceptor {
    token: Option<Arc<TokenFile>>,
}

impl ServiceInterceptor {
    /// Trace context only: no credentials.
    pub fn anonymous() -> Self {
        Self::default()
    }
}

impl tonic::service::Interceptor for ServiceInterceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = TraceContextInterceptor.call(request)?;
        if let Some(token) = &self.token {
            request
                .metadata_mut()
                .insert("authorization", token.header());
        }
        Ok(request)
    }
}

/// How often the token file's modification time is looked at.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct TokenFile {
    path: String,
    /// How often the file's modification time is looked at.
    recheck: Duration,
    state: Mutex<TokenState>,
}

#[derive(Debug)]
struct TokenState {
    header: AsciiMetadataValue,
    modified: Option<SystemTime>,
    checked: Instant,
}

fn bearer(path: &str, text: &str) -> Result<AsciiMetadataValue, ClientConfigError> {
    let token = text.trim();
    if token.is_empty() {
        return Err(field("token_file", format!("`{path}` holds no token")));
    }
    MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
        field(
            "token_file",
            format!("`{path}` holds characters a header cannot carry"),
        )
    })
}

impl TokenFile {
    fn load(path: &str, recheck: Duration) -> Result<Self, ClientConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| field("token_file", format!("cannot read `{path}`: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            recheck,
            state: Mutex::new(TokenState {
                header: bearer(path, &text)?,
                modified: modified(path),
                checked: Instant::now(),
            }),
        })
    }

    /// The current header; rereads the file when it changed. A file that became unreadable or
    /// empty keeps the last good token (and says so), since a rotation writes it anew.
    fn header(&self) -> AsciiMetadataValue {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.checked.elapsed() >= self.recheck {
            state.checked = Instant::now();
            let now = modified(&self.path);
            if now != state.modified {
                match std::fs::read_to_string(&self.path)
                    .map_err(|e| field("token_file", format!("cannot read `{}`: {e}", self.path)))
                    .and_then(|text| bearer(&self.path, &text))
                {
                    Ok(header) => {
                        state.header = header;
                        state.modified = now;
                        tracing::info!(path = %self.path, "service token reloaded");
                    }
                    Err(e) => tracing::warn!(error = %e, "keeping the last service token"),
                }
            }
        }
        state.header.clone()
    }
}

fn modified(path: &str) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    fn authorization(i: &mut ServiceInterceptor) -> Option<String> {
        let request = i.call(tonic::Request::new(())).unwrap();
        request
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn no_token_file_sends_no_credentials() {
        let mut i = ClientConfig::default().interceptor().unwrap();
        assert_eq!(authorization(&mut i), None);
    }

    #[test]
    fn the_token_is_sent_and_reread_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first.token.value\n").unwrap();
        // Looked at on every call here, so the test needs no waiting.
        let mut i = ServiceInterceptor {
            token: Some(Arc::new(
                TokenFile::load(path.to_str().unwrap(), Duration::ZERO).unwrap(),
            )),
        };
        assert_eq!(
            authorization(&mut i).as_deref(),
            Some("Bearer first.token.value")
        );

        // A rotation: a new file with a later modification time.
        std::fs::write(&path, "second.token.value").unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(
            authorization(&mut i).as_deref(),
            Some("Bearer second.token.value")
        );

        // Emptied mid-rotation: the last good token stays.
        std::fs::write(&path, "").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later + Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            authorization(&mut i).as_deref(),
            Some("Bearer second.token.value")
        );
    }

    #[test]
    fn unusable_settings_name_their_field() {
        let missing = ClientConfig {
            token_file: "/nonexistent/token".into(),
            ..ClientConfig::default()
        };
        let e = missing.interceptor().unwrap_err().to_string();
        assert!(e.starts_with("client.token_file:"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let e = ClientConfig {
            token_file: empty.to_str().unwrap().to_owned(),
            ..ClientConfig::default()
        }
        .interceptor()
        .unwrap_err()
        .to_string();
        assert!(e.contains("holds no token"), "{e}");

        let timeout = Duration::from_secs(1);
        let e = ClientConfig::default()
            .channel("https://registry:50051", timeout)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("client.ca_file:"), "{e}");
        let e = ClientConfig {
            cert_file: "c.pem".into(),
            ..ClientConfig::default()
        }
        .channel("https://registry:50051", timeout)
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("client.key_file:"), "{e}");
        let e = ClientConfig {
            ca_file: "ca.pem".into(),
            ..ClientConfig::default()
        }
        .channel("http://registry:50051", timeout)
        .unwrap_err()
        .to_string();
        assert!(e.contains("not https://"), "{e}");
    }

    #[tokio::test]
    async fn a_plaintext_endpoint_gives_a_lazy_channel() {
        ClientConfig::default()
            .channel("http://127.0.0.1:1", Duration::from_secs(1))
            .unwrap();
    }
}
