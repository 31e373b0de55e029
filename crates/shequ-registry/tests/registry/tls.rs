//! TLS and mutual TLS on the registry's port with certificates made for the test: a client
//! certificate stands for a service identity, one from an unknown CA is refused, plaintext is
//! refused, and health stays reachable in plaintext on its own port.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use shequ_platform::tls::TlsConfig;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_testkit::fixtures::{self, SAMPLE};
use shequ_testkit::{Registry, TestDatabase, TestIssuer, TestService, registry_config, with_token};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate and key (PEM) issued by `ca` for `names`.
fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

struct Tls {
    registry: TestService<Registry>,
    issuer: TestIssuer,
    ca: CertifiedIssuer<'static, KeyPair>,
    port: u16,
    health_port: u16,
    _dir: tempfile::TempDir,
}

impl Tls {
    async fn start() -> Self {
        let ca = authority("shequ test ca");
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = issue(
            &ca,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let health_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let issuer = TestIssuer::new().unwrap();
        let database = TestDatabase::fresh().await.unwrap();
        let mut cfg = registry_config(database.url()).unwrap();
        cfg.auth = issuer.auth_config();
        cfg.server.tls = Some(TlsConfig {
            cert_file: write("server.pem", &cert),
            key_file: write("server.key", &key),
            client_ca_file: write("ca.pem", &ca.pem()),
            client_certificate_required: false,
            health_listen: format!("127.0.0.1:{health_port}").parse().unwrap(),
        });
        let registry = TestService::<Registry>::start_with(cfg, database)
            .await
            .unwrap();
        let port = registry.addr.port();
        Self {
            registry,
            issuer,
            ca,
            port,
            health_port,
            _dir: dir,
        }
    }

    async fn channel(
        &self,
        identity: Option<(String, String)>,
    ) -> Result<Channel, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca.pem()))
            .domain_name("localhost");
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        Endpoint::from_shared(format!("https://localhost:{}", self.port))
            .unwrap()
            .tls_config(tls)?
            .connect()
            .await
    }
}

fn get_division() -> pb::GetDivisionRequest {
    pb::GetDivisionRequest {
        name: "divisions/110101".into(),
    }
}

#[tokio::test]
async fn client_certificates_stand_for_services() {
    let tls = Tls::start().await;
    let admin = tls
        .issuer
        .token("admin", &["registry.editor"], &["000000000000"]);
    let mut divisions = DivisionServiceClient::new(tls.channel(None).await.unwrap());
    let requests = fixtures::import_requests(&SAMPLE, "2023", 64 * 1024);
    divisions
        .import_divisions(with_token(tokio_stream::iter(requests), &admin))
        .await
        .unwrap();
    // Over TLS without a client certificate: a token is needed.
    let anonymous = divisions.get_division(get_division()).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    assert!(
        divisions
            .get_division(with_token(get_division(), &admin))
            .await
            .is_ok()
    );

    // A certificate from the client CA is the service `monitoring.shequ`: it reads, never writes.
    let monitoring = issue(
        &tls.ca,
        &["monitoring.shequ"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let channel = tls.channel(Some(monitoring)).await.unwrap();
    let mut as_service = DivisionServiceClient::new(channel.clone());
    let division = as_service
        .get_division(get_division())
        .await
        .unwrap()
        .into_inner()
        .division
        .unwrap();
    assert_eq!(division.code, "110101000000");
    let write = FacilityServiceClient::new(channel)
        .create_facility(pb::CreateFacilityRequest {
            facility: Some(fixtures::facility(fixtures::SAMPLE_COMMUNITY)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(write.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn unknown_authorities_and_plaintext_are_refused_while_health_stays_open() {
    let tls = Tls::start().await;
    // A certificate from another CA: the handshake fails, so no call gets through.
    let stranger = authority("somebody else");
    let forged = issue(
        &stranger,
        &["monitoring.shequ"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let refused = match tls.channel(Some(forged)).await {
        Err(_) => true,
        Ok(channel) => DivisionServiceClient::new(channel)
            .get_division(get_division())
            .await
            .is_err(),
    };
    assert!(refused, "a certificate of an unknown CA was accepted");

    // Plaintext on the TLS port does not get an answer.
    let plaintext = async {
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{}", tls.port))?
            .connect()
            .await?;
        let status = DivisionServiceClient::new(channel)
            .get_division(get_division())
            .await;
        anyhow::Ok(status.is_ok())
    }
    .await;
    assert!(!matches!(plaintext, Ok(true)), "plaintext was served");

    // Health, in plaintext, on its own port, for probes that cannot speak TLS.
    // The port opens once the server has started; wait for it.
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{}", tls.health_port)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let channel = loop {
        match endpoint.connect().await {
            Ok(channel) => break channel,
            Err(e) => assert!(std::time::Instant::now() < deadline, "health port: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    drop(tls.registry);
}

/// What the survey and monitoring services do when configured with `[client]` for mutual TLS:
/// `ClientConfig::channel` verifies the registry against `ca_file` and presents `cert_file`, which
/// the registry takes for a service identity; a token file on top wins over the certificate.
#[tokio::test]
async fn a_client_config_with_a_certificate_calls_as_a_service() {
    use shequ_platform::client::ClientConfig;
    use std::time::Duration;

    let tls = Tls::start().await;
    let admin = tls
        .issuer
        .token("admin", &["registry.editor"], &["000000000000"]);
    let requests = fixtures::import_requests(&SAMPLE, "2023", 64 * 1024);
    DivisionServiceClient::new(tls.channel(None).await.unwrap())
        .import_divisions(with_token(tokio_stream::iter(requests), &admin))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (cert, key) = issue(
        &tls.ca,
        &["survey.shequ"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let endpoint = format!("https://localhost:{}", tls.port);
    let with_certificate = ClientConfig {
        ca_file: write("ca.pem", &tls.ca.pem()),
        cert_file: write("client.pem", &cert),
        key_file: write("client.key", &key),
        ..ClientConfig::default()
    };
    let timeout = Duration::from_secs(10);
    let facts = |cfg: &ClientConfig| {
        let channel = cfg.channel(&endpoint, timeout).unwrap();
        let interceptor = cfg.interceptor().unwrap();
        async move {
            let mut stream = FacilityServiceClient::with_interceptor(channel, interceptor)
                .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest {
                    parent: "divisions/110101".into(),
                })
                .await?
                .into_inner();
            stream.message().await
        }
    };
    // The facts stream needs the `service` role (or national scope): the certificate gives it.
    let first = facts(&with_certificate).await.unwrap().expect("facts");
    assert!(!first.facts.is_empty());

    // Without the certificate the call has no principal at all.
    let anonymous = ClientConfig {
        ca_file: with_certificate.ca_file.clone(),
        ..ClientConfig::default()
    };
    assert_eq!(
        facts(&anonymous).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // A token beside the certificate wins: a reader of another county cannot stream these facts,
    // which the certificate alone (a national service) could.
    let reader = tls
        .issuer
        .token("someone", &["registry.reader"], &["130102000000"]);
    let token_and_certificate = ClientConfig {
        token_file: write("token", &reader),
        ..with_certificate.clone()
    };
    assert_eq!(
        facts(&token_and_certificate).await.unwrap_err().code(),
        Code::PermissionDenied
    );
}
