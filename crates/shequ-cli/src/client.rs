//! How the client subcommands reach the services: endpoints from flags or `SHEQU_*` variables,
//! one lazily connected channel per service, the actor header, and the exit code a failure maps
//! to (with the offending fields of a refused request).

use std::fmt;
use std::time::Duration;

use clap::Args;
use shequ_proto::monitoring::v1::evaluation_service_client::EvaluationServiceClient;
use shequ_proto::monitoring::v1::plan_service_client::PlanServiceClient;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_proto::survey::v1::questionnaire_service_client::QuestionnaireServiceClient;
use shequ_proto::survey::v1::response_service_client::ResponseServiceClient;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
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

    pub async fn registry(&self) -> Result<Channel, CliError> {
        connect("registry", &self.endpoints.registry).await
    }

    pub async fn survey(&self) -> Result<Channel, CliError> {
        connect("survey", &self.endpoints.survey).await
    }

    pub async fn monitoring(&self) -> Result<Channel, CliError> {
        connect("monitoring", &self.endpoints.monitoring).await
    }

    pub async fn divisions(&self) -> Result<DivisionServiceClient<Channel>, CliError> {
        Ok(DivisionServiceClient::new(self.registry().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn facilities(&self) -> Result<FacilityServiceClient<Channel>, CliError> {
        Ok(FacilityServiceClient::new(self.registry().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn questionnaires(&self) -> Result<QuestionnaireServiceClient<Channel>, CliError> {
        Ok(QuestionnaireServiceClient::new(self.survey().await?))
    }

    pub async fn rounds(&self) -> Result<RoundServiceClient<Channel>, CliError> {
        Ok(RoundServiceClient::new(self.survey().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn responses(&self) -> Result<ResponseServiceClient<Channel>, CliError> {
        Ok(ResponseServiceClient::new(self.survey().await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    pub async fn plans(&self) -> Result<PlanServiceClient<Channel>, CliError> {
        Ok(PlanServiceClient::new(self.monitoring().await?))
    }

    pub async fn evaluations(&self) -> Result<EvaluationServiceClient<Channel>, CliError> {
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

async fn connect(service: &'static str, url: &str) -> Result<Channel, CliError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| {
        CliError::new(
            ExitCode::Usage,
            format!("`{url}` is not a valid {service} endpoint: {e}"),
        )
    })?;
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
}

impl ExitCode {
    pub fn of_status(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidInput,
            Code::NotFound => Self::NotFound,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => Self::Conflict,
            Code::Unavailable | Code::DeadlineExceeded => Self::Unavailable,
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
