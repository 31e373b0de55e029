//! TLS and mutual TLS (rustls) for a service's gRPC port, from `[server.tls]`, and the service
//! identity a verified client certificate stands for.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// `[server.tls]`: present means the gRPC port speaks only TLS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain of the server.
    pub cert_file: String,
    /// PEM private key of the server.
    pub key_file: String,
    /// PEM CA certificates that client certificates are verified against; empty means no client
    /// certificates (plain TLS). A certificate from another CA fails the handshake.
    #[serde(default)]
    pub client_ca_file: String,
    /// With a client CA: refuse connections without a client certificate. Otherwise such
    /// clients connect and authenticate with a bearer token.
    #[serde(default)]
    pub client_certificate_required: bool,
    /// Plaintext port serving health only, for probes that cannot speak TLS (the kubelet's gRPC
    /// probe).
    pub health_listen: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
#[error("tls: cannot read `{path}`: {source}")]
pub struct TlsFileError {
    path: String,
    source: std::io::Error,
}

fn read(path: &str) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(Path::new(path)).map_err(|source| TlsFileError {
        path: path.to_owned(),
        source,
    })
}

impl TlsConfig {
    /// The rustls server settings: identity, and the client CA when mutual TLS is on.
    pub fn server_config(&self) -> Result<ServerTlsConfig, TlsFileError> {
        let identity = Identity::from_pem(read(&self.cert_file)?, read(&self.key_file)?);
        let mut tls = ServerTlsConfig::new().identity(identity);
        if !self.client_ca_file.is_empty() {
            tls = tls
                .client_ca_root(Certificate::from_pem(read(&self.client_ca_file)?))
                .client_auth_optional(!self.client_certificate_required);
        }
        Ok(tls)
    }
}

/// The service name a client certificate (DER) stands for: its first DNS subject alternative
/// name, else its subject common name. Only certificates rustls verified reach this.
pub fn certificate_identity(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                return Some((*dns).to_owned());
            }
        }
    }
    let common_name = cert.subject().iter_common_name().next()?;
    common_name.as_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_the_dns_name_else_the_common_name() {
        let with_san = rcgen::generate_simple_self_signed(vec!["monitoring.shequ".into()]).unwrap();
        assert_eq!(
            certificate_identity(with_san.cert.der()).as_deref(),
            Some("monitoring.shequ")
        );
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "survey");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(certificate_identity(cert.der()).as_deref(), Some("survey"));
        assert_eq!(certificate_identity(b"not a certificate"), None);
    }
}
