//! The tower layer `serve_secured` puts in front of every service: it looks the method up in the
//! server's [`Policy`], authenticates the caller (bearer token or client certificate), checks the
//! roles, and hands the [`Principal`] to the service in the request's extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use super::policy::{Access, Policy};
use super::{Authenticator, Principal};

/// Authenticates and authorizes every call before it reaches a service.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    authenticator: Arc<Authenticator>,
    policy: Arc<Policy>,
}

impl AuthLayer {
    pub fn new(authenticator: Arc<Authenticator>, policy: Policy) -> Self {
        Self {
            authenticator,
            policy: Arc::new(policy),
        }
    }

    /// The decision for one call: the principal to hand on, or the status that refuses it.
    pub fn decide(
        &self,
        path: &str,
        headers: &http::HeaderMap,
        certificate_identity: Option<&str>,
    ) -> Result<Option<Principal>, Status> {
        let Some(access) = self.policy.access(path) else {
            return Err(Status::permission_denied(format!(
                "method `{path}` has no access rule"
            )));
        };
        let required = match access {
            Access::Open => return Ok(None),
            Access::AnyOf(roles) => roles,
        };
        let principal = self.authenticator.authenticate(
            headers.get(http::header::AUTHORIZATION),
            certificate_identity,
        )?;
        if !principal.has_any_role(required) {
            let names: Vec<&str> = required.iter().map(|r| r.as_str()).collect();
            return Err(Status::permission_denied(format!(
                "`{path}` needs one of the roles {}",
                names.join(", ")
            )));
        }
        Ok(Some(principal))
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let identity = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|info| info.peer_certs())
            .and_then(|certs| {
                certs
                    .first()
                    .and_then(|c| crate::tls::certificate_identity(c.as_ref()))
            });
        let path = request.uri().path().to_owned();
        match self
            .layer
            .decide(&path, request.headers(), identity.as_deref())
        {
            Ok(principal) => {
                if let Some(principal) = principal {
                    request.extensions_mut().insert(Arc::new(principal));
                }
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                tracing::info!(method = %path, code = ?status.code(), reason = status.message(), "call refused");
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}
