//! Who is calling and what they may do: the `[auth]` settings, the `Principal` every call carries
//! in its extensions, roles, regional scope, and the tower layer that authenticates each call and
//! checks the roles its method requires before any service code runs.

mod jwks;
mod layer;
pub mod policy;

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use shequ_domain::DivisionCode;
use tonic::Status;

pub use jwks::{JwtVerifier, TokenError};
pub use layer::{AuthLayer, AuthService};
pub use policy::{Access, Policy};

/// The division code that stands for the whole country in a token's `divisions` claim.
pub const NATIONAL: &str = "000000000000";

/// `[auth]`: how callers are authenticated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// A JWKS JSON file with the token issuer's public keys; reread when it changes.
    pub jwks_file: String,
    /// Required `iss` claim.
    pub issuer: String,
    /// Required `aud` claim.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// Lets `mode = "off"` run against PostgreSQL, which is otherwise refused.
    pub allow_off_with_postgres: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Off,
            jwks_file: String::new(),
            issuer: String::new(),
            audience: "shequ".to_owned(),
            leeway_secs: 30,
            allow_off_with_postgres: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Development: every call acts as an unverified principal holding every role everywhere.
    Off,
    /// Every call needs a valid bearer token (or, under mutual TLS, a client certificate).
    Jwt,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("auth: `mode = \"jwt\"` needs `{0}`")]
    Missing(&'static str),
    #[error(
        "auth: `mode = \"off\"` is refused with a PostgreSQL database; configure `mode = \"jwt\"` or set `[auth] allow_off_with_postgres = true` to force it"
    )]
    OffWithPostgres,
    #[error("auth: cannot read the key set `{path}`: {reason}")]
    KeySet { path: String, reason: String },
}

/// A role; every RPC names the roles that may call it (see [`policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    RegistryReader,
    RegistryEditor,
    SurveyCollector,
    SurveyReader,
    PlanOfficer,
    PlanReader,
    Auditor,
    Service,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::RegistryReader,
        Role::RegistryEditor,
        Role::SurveyCollector,
        Role::SurveyReader,
        Role::PlanOfficer,
        Role::PlanReader,
        Role::Auditor,
        Role::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::RegistryReader => "registry.reader",
            Role::RegistryEditor => "registry.editor",
            Role::SurveyCollector => "survey.collector",
            Role::SurveyReader => "survey.reader",
            Role::PlanOfficer => "plan.officer",
            Role::PlanReader => "plan.reader",
            Role::Auditor => "auditor",
            Role::Service => "service",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// Authentication is off: nobody was verified.
    Development,
    /// A verified bearer token.
    Token,
    /// A verified TLS client certificate.
    Certificate,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Development => "development",
            PrincipalKind::Token => "token",
            PrincipalKind::Certificate => "certificate",
        }
    }
}

/// Where a principal may act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole country.
    National,
    /// Only inside these divisions (each with everything under it, by parent links).
    Within(BTreeSet<DivisionCode>),
}

impl Scope {
    pub fn is_national(&self) -> bool {
        matches!(self, Scope::National)
    }

    /// Whether a resource whose division has the given ancestry (the division itself and every
    /// ancestor, taken from the hierarchy's parent links) lies in this scope.
    pub fn contains_any(&self, ancestry: impl IntoIterator<Item = DivisionCode>) -> bool {
        match self {
            Scope::National => true,
            Scope::Within(codes) => ancestry.into_iter().any(|c| codes.contains(&c)),
        }
    }

    /// The divisions of a regional scope; empty for the national one.
    pub fn divisions(&self) -> impl Iterator<Item = DivisionCode> + '_ {
        let set = match self {
            Scope::National => None,
            Scope::Within(codes) => Some(codes.iter().copied()),
        };
        set.into_iter().flatten()
    }
}

/// The authenticated caller of one RPC, found in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub kind: PrincipalKind,
    pub roles: BTreeSet<Role>,
    pub scope: Scope,
}

impl Principal {
    /// The principal of development mode: unverified, every role, the whole country.
    pub fn development() -> Self {
        Self {
            subject: "development".to_owned(),
            kind: PrincipalKind::Development,
            roles: Role::ALL.into_iter().collect(),
            scope: Scope::National,
        }
    }

    /// A service identity proved by a client certificate: the `service` role, nationally.
    pub fn service(name: &str) -> Self {
        Self {
            subject: name.to_owned(),
            kind: PrincipalKind::Certificate,
            roles: BTreeSet::from([Role::Service]),
            scope: Scope::National,
        }
    }

    /// The principal the auth layer put into `request`; UNAUTHENTICATED when there is none (a
    /// service not behind the layer).
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Arc<Principal>, Status> {
        request
            .extensions()
            .get::<Arc<Principal>>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("no authenticated principal"))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.roles.contains(r))
    }

    /// Whether this principal was verified, rather than assumed in development mode.
    pub fn is_verified(&self) -> bool {
        self.kind != PrincipalKind::Development
    }

    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.as_str().to_owned()).collect()
    }
}

/// Authenticates calls according to `[auth]`.
#[derive(Debug)]
pub struct Authenticator {
    mode: AuthMode,
    verifier: Option<JwtVerifier>,
}

impl Authenticator {
    /// Checks the settings and, in `jwt` mode, loads the key set once (a file that cannot be read
    /// at start is a configuration error; later failures keep the last good keys).
    pub fn new(cfg: &AuthConfig) -> Result<Self, AuthConfigError> {
        let verifier = match cfg.mode {
            AuthMode::Off => None,
            AuthMode::Jwt => {
                if cfg.jwks_file.is_empty() {
                    return Err(AuthConfigError::Missing("jwks_file"));
                }
                if cfg.issuer.is_empty() {
                    return Err(AuthConfigError::Missing("issuer"));
                }
                if cfg.audience.is_empty() {
                    return Err(AuthConfigError::Missing("audience"));
                }
                Some(JwtVerifier::open(
                    PathBuf::from(&cfg.jwks_file),
                    &cfg.issuer,
                    &cfg.audience,
                    cfg.leeway_secs,
                )?)
            }
        };
        Ok(Self {
            mode: cfg.mode,
            verifier,
        })
    }

    /// Development mode, for tests and tools that call a service in-process.
    pub fn off() -> Self {
        Self {
            mode: AuthMode::Off,
            verifier: None,
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The principal of a call: a bearer token wins over a client certificate; with neither, or
    /// with a bad token, the call is UNAUTHENTICATED. In development mode every call is the
    /// development principal.
    pub fn authenticate(
        &self,
        authorization: Option<&http::HeaderValue>,
        certificate_identity: Option<&str>,
    ) -> Result<Principal, Status> {
        let Some(verifier) = &self.verifier else {
            return Ok(Principal::development());
        };
        match authorization {
            Some(value) => {
                let token = bearer_token(value).ok_or_else(|| {
                    Status::unauthenticated("`authorization` must be `Bearer <token>`")
                })?;
                verifier
                    .verify(token)
                    .map_err(|e| Status::unauthenticated(e.to_string()))
            }
            None => match certificate_identity {
                Some(name) => Ok(Principal::service(name)),
                None => Err(Status::unauthenticated(
                    "missing `authorization: Bearer <token>`",
                )),
            },
        }
    }
}

fn bearer_token(value: &http::HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks `[auth]` against the database a service is about to use and says loudly when
/// authentication is off. PostgreSQL means a shared, long-lived deployment, where development
/// mode is refused unless `allow_off_with_postgres` forces it.
pub fn check_deployment(cfg: &AuthConfig, postgres: bool) -> Result<(), AuthConfigError> {
    if cfg.mode == AuthMode::Off {
        if postgres && !cfg.allow_off_with_postgres {
            return Err(AuthConfigError::OffWithPostgres);
        }
        warn_development_mode();
    }
    Ok(())
}

/// The startup warning of development mode.
pub fn warn_development_mode() {
    tracing::warn!(
        "AUTHENTICATION IS OFF (`[auth] mode = \"off\"`): every caller acts with every role in every division; never expose this service"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_token() {
        let v = |s: &str| http::HeaderValue::from_str(s).unwrap();
        assert_eq!(bearer_token(&v("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&v("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&v("Basic abc")), None);
        assert_eq!(bearer_token(&v("Bearer ")), None);
        assert_eq!(bearer_token(&v("abc")), None);
    }

    #[test]
    fn development_mode_is_refused_on_postgres_unless_forced() {
        let mut cfg = AuthConfig::default();
        assert!(check_deployment(&cfg, false).is_ok());
        let err = check_deployment(&cfg, true).unwrap_err();
        assert!(err.to_string().contains("allow_off_with_postgres"), "{err}");
        cfg.allow_off_with_postgres = true;
        assert!(check_deployment(&cfg, true).is_ok());
        cfg.mode = AuthMode::Jwt;
        cfg.allow_off_with_postgres = false;
        assert!(check_deployment(&cfg, true).is_ok());
    }

    #[test]
    fn jwt_mode_needs_its_settings() {
        let cfg = AuthConfig {
            mode: AuthMode::Jwt,
            ..Default::default()
        };
        let err = Authenticator::new(&cfg).unwrap_err();
        assert!(err.to_string().contains("jwks_file"), "{err}");
    }

    #[test]
    fn scope_follows_the_given_ancestry() {
        let code = |s: &str| DivisionCode::parse(s).unwrap();
        let county = Scope::Within(BTreeSet::from([code("130102")]));
        assert!(county.contains_any([code("13"), code("1301"), code("130102")]));
        assert!(!county.contains_any([code("13"), code("1301"), code("130104")]));
        assert!(!county.contains_any([code("13")]));
        assert!(Scope::National.contains_any([]));
    }
}
