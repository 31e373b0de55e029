//! How the client subcommands reach the services: endpoints from flags or `SHEQU_*` variables,
//! one lazily connected channel per service (TLS for `https://` endpoints), the bearer token sent
//! on every call, the actor header, and the exit code a failure maps to (with the offending fields
//! of a refused request).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use shequ_platform::client::ServiceInterceptor;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use tonic::Code;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_types::StatusExt as _;

/// Header naming the author of a write.
pub const ACTOR_HEADER: &str = "x-shequ-actor";
/// Largest message a client accepts: the services' own default limit.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Where the three services listen.
#[derive(Debug, Clone, Args)]
pub struct Endpoints {
    /// The facility registry.
    #[arg(
        long,
        global = true,
        env = "SHEQU_REGISTRY",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    pub registry: String,
    /// The survey collection service.
    #[arg(
        long,
        global = true,
        env = "SHEQU_SURVEY",
        default_value = "http://127.0.0.1:50052",
        value_name = "URL"
    )]
    pub survey: String,
    /// The plan monitoring service.
    #[arg(
        long,
        global = true,
        env = "SHEQU_MONITORING",
        default_value = "http://127.0.0.1:50053",
        value_name = "URL"
    )]
    pub monitoring: String,
    /// Recorded as the author of writes (`x-shequ-actor`).
    #[arg(
        long,
        global = true,
        env = "SHEQU_ACTOR",
        default_value = "shequ-cli",
        value_name = "NAME"
    )]
    pub actor: String,
    /// Bearer token (a JWT) sent as `authorization: Bearer` on every call.
    #[arg(
        long,
        global = true,
        env = "SHEQU_TOKEN",
        hide_env_values = true,
        conflicts_with = "token_file",
        value_name = "JWT"
    )]
    pub token: Option<String>,
    /// A file holding the bearer token, reread when it changes.
    #[arg(long, global = true, env = "SHEQU_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM CA certificates that `https://` endpoints are verified against.
    #[arg(long, global = true, env = "SHEQU_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl Endpoints {
    /// Plaintext endpoints without credentials, as `shequ demo` uses its own services.
    pub fn local(registry: String, survey: String, monitoring: String, actor: &str) -> Self {
        Self {
            registry,
            survey,
            monitoring,
            actor: actor.to_owned(),
            token: None,
            token_file: None,
            ca_file: None,
        }
    }
}

/// A connection whose calls carry the trace context and the caller's bearer token.
pub type Conn = InterceptedService<Channel, Credentials>;

/// Adds `authorization: Bearer <token>` (from `--token` or `--token-file`) and the trace context
/// to every call.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    token: Option<AsciiMetadataValue>,
    file: ServiceInterceptor,
}

impl tonic::service::Interceptor for Credentials {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = self.file.call(request)?;
        if let Some(token) = &self.token {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

impl Credentials {
    /// The credentials the flags name; an unreadable or empty token is a usage error.
    pub fn from_endpoints(endpoints: &Endpoints) -> Result<Self, CliError> {
        let mut credentials = Self::default();
        if let Some(token) = &endpoints.token {
            let token = token.trim();
            if token.is_empty() {
                return Err(CliError::new(
                    ExitCode::Usage,
                    "--token: the token is empty",
                ));
            }
            credentials.token = Some(MetadataValue::try_from(format!("Bearer {token}")).map_err(
                |_| {
                    CliError::new(
                        ExitCode::Usage,
                        "--token: the token holds characters a header cannot carry",
                    )
                },
            )?);
        }
        if let Some(path) = &endpoints.token_file {
            let config = shequ_platform::client::ClientConfig {
                token_file: path.display().to_string(),
                ..Default::default()
            };
            credentials.file = config.interceptor().map_err(|e| {
                CliError::new(
                    ExitCode::Usage,
                    format!(
                        "--token-file: {}",
                        e.to_string().trim_start_matches("client.token_file: ")
                    ),
                )
            })?;
        }
        Ok(credentials)
    }
}

/// Connections to the services, made when first used.
#[derive(Debug, Clone)]
pub struct Clients {
    endpoints: Endpoints,
}

impl Clients {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub async fn registry(&self) -> Result<Conn, CliError> {
        self.connect("registry", &self.endpoints.registry).await
    }

    pub async fn survey(&self) -> Result<Conn, CliError> {
        self.connect("survey", &self.endpoints.survey).await
    }

    pub async fn monitoring(&self) -> Result<Conn, CliError> {
        self.connect("monitoring", &self.endpoints.monitoring).await
    }

    async fn connect(&self, service: &'static str, url: &str) -> Result<Conn, CliError> {
        let credentials = Credentials::from_endpoints(&self.endpoints)?;
        let channel = connect(service, url, self.endpoints.ca_file.as_deref()).await?;
        Ok(InterceptedService::new(channel, credentials))
    }

    pub async fn divisions(&self) -> Result<DivisionServiceClient<Conn>, CliError> {
        Ok(DivisionServiceClient::new(self.registry().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn facilities(&self) -> Result<FacilityServiceClient<Conn>, CliError> {
        Ok(FacilityServiceClient::new(self.registry().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn questionnaires(&self) -> Result<QuestionnaireServiceClient<Conn>, CliError> {
        Ok(QuestionnaireServiceClient::new(self.survey().await?))
    }

    pub async fn rounds(&self) -> Result<RoundServiceClient<Conn>, CliError> {
        Ok(RoundServiceClient::new(self.survey().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn responses(&self) -> Result<ResponseServiceClient<Conn>, CliError> {
        Ok(ResponseServiceClient::new(self.survey().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn plans(&self) -> Result<PlanServiceClient<Conn>, CliError> {
        Ok(PlanServiceClient::new(self.monitoring().await?))
    }

    pub async fn evaluations(&self) -> Result<EvaluationServiceClient<Conn>, CliError> {
        Ok(EvaluationServiceClient::new(self.monitoring().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES))
    }

    /// `message` as a request carrying the actor header.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        with_actor(message, &self.endpoints.actor)
    }
}

/// `message` as a request whose `x-shequ-actor` header is `actor` (left out if not ASCII).
pub fn with_actor<T>(message: T, actor: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = MetadataValue::try_from(actor) {
        request.metadata_mut().insert(ACTOR_HEADER, value);
    }
    request
}

async fn connect(
    service: &'static str,
    url: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<Channel, CliError> {
    let usage = |message: String| CliError::new(ExitCode::Usage, message);
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| usage(format!("`{url}` is not a valid {service} endpoint: {e}")))?;
    if url.starts_with("https://") {
        let Some(ca_file) = ca_file else {
            return Err(usage(format!(
                "`{url}` uses TLS: give the CA its certificate is verified against with --ca-file or SHEQU_CA_FILE"
            )));
        };
        let pem = std::fs::read(ca_file)
            .map_err(|e| usage(format!("--ca-file: cannot read {}: {e}", ca_file.display())))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
            .map_err(|e| usage(format!("--ca-file: {e}")))?;
    }
    endpoint
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| {
            CliError::new(
                ExitCode::Unavailable,
                format!("cannot connect to the {service} service at {url}: {e}"),
            )
        })
}

/// Exit codes scripts can rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 1: anything not listed below (an internal error of a service, a local I/O failure).
    Failure = 1,
    /// 2: the command line itself is wrong (clap uses 2 too).
    Usage = 2,
    /// 3: bad input: a file that cannot be read or parsed, or `INVALID_ARGUMENT`.
    InvalidInput = 3,
    /// 4: `NOT_FOUND`.
    NotFound = 4,
    /// 5: refused in the current state: `ALREADY_EXISTS`, `ABORTED` (stale etag),
    /// `FAILED_PRECONDITION`.
    Conflict = 5,
    /// 6: a service could not be reached or did not answer: `UNAVAILABLE`, `DEADLINE_EXCEEDED`.
    Unavailable = 6,
    /// 7: some records of a bulk submission were rejected; the others were stored.
    Partial = 7,
    /// 8: the credentials were refused: `UNAUTHENTICATED` (missing, expired or forged token) or
    /// `PERMISSION_DENIED` (a role or region the token does not grant).
    Denied = 8,
}

impl ExitCode {
    pub fn of_status(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidInput,
            Code::NotFound => Self::NotFound,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => Self::Conflict,
            Code::Unavailable | Code::DeadlineExceeded => Self::Unavailable,
            Code::Unauthenticated | Code::PermissionDenied => Self::Denied,
            _ => Self::Failure,
        }
    }
}

/// A failure with the exit code it maps to; `Display` is the message for stderr.
#[derive(Debug)]
pub struct CliError {
    pub code: ExitCode,
    pub message: String,
}

impl CliError {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Bad local input (a file, a flag value).
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ExitCode::InvalidInput, message)
    }

    /// A refused call: its code, message and every offending field.
    pub fn status(call: &str, status: &tonic::Status) -> Self {
        let mut message = format!(
            "{call} failed: {} ({})",
            status.message(),
            code_name(status.code())
        );
        if let Some(bad) = status.get_details_bad_request() {
            for v in bad.field_violations {
                message.push_str(&format!("\n  field `{}`: {}", v.field, v.description));
            }
        }
        Self::new(ExitCode::of_status(status.code()), message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Turns a failed call into a `CliError` naming the call.
pub trait CallExt<T> {
    fn call(self, name: &str) -> Result<T, CliError>;
}

impl<T> CallExt<T> for Result<tonic::Response<T>, tonic::Status> {
    fn call(self, name: &str) -> Result<T, CliError> {
        self.map(tonic::Response::into_inner)
            .map_err(|s| CliError::status(name, &s))
    }
}

/// The gRPC name of a status code, e.g. `INVALID_ARGUMENT`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The exit code of any error a subcommand returns.
pub fn exit_code_of(error: &anyhow::Error) -> ExitCode {
    if let Some(e) = error.downcast_ref::<CliError>() {
        return e.code;
    }
    if let Some(s) = error.downcast_ref::<tonic::Status>() {
        return ExitCode::of_status(s.code());
    }
    if error.downcast_ref::<tonic::transport::Error>().is_some() {
        return ExitCode::Unavailable;
    }
    ExitCode::Failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_documented_exit_codes() {
        assert_eq!(
            ExitCode::of_status(Code::InvalidArgument),
            ExitCode::InvalidInput
        );
        assert_eq!(ExitCode::of_status(Code::NotFound) as i32, 4);
        assert_eq!(ExitCode::of_status(Code::Aborted) as i32, 5);
        assert_eq!(ExitCode::of_status(Code::Unavailable) as i32, 6);
        assert_eq!(ExitCode::of_status(Code::Internal) as i32, 1);
        assert_eq!(ExitCode::of_status(Code::Unauthenticated) as i32, 8);
        assert_eq!(ExitCode::of_status(Code::PermissionDenied) as i32, 8);
        let e = anyhow::Error::new(CliError::input("x"));
        assert_eq!(exit_code_of(&e), ExitCode::InvalidInput);
    }

    #[test]
    fn refusals_list_their_fields() {
        let details = tonic_types::ErrorDetails::with_bad_request_violation(
            "facility.total_floor_area_m2",
            "must be greater than 0",
        );
        let status =
            tonic::Status::with_error_details(Code::InvalidArgument, "invalid facility", details);
        let e = CliError::status("CreateFacility", &status);
        assert_eq!(e.code, ExitCode::InvalidInput);
        assert!(e.message.contains("INVALID_ARGUMENT"));
        assert!(
            e.message
                .contains("field `facility.total_floor_area_m2`: must be greater than 0")
        );
    }
}
