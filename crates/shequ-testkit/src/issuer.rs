//! A token issuer for services that authenticate calls: an RSA and a P-256 key published in a
//! JWKS file, tokens signed with either, forgeries, key rotation, and requests carrying a token.

/// A token issuer for tests: an RSA key (RS256) and a P-256 key (ES256) published in a JWKS file
/// that a service under test reads, and tokens signed with either.
pub struct TestIssuer {
    dir: tempfile::TempDir,
    ec: jsonwebtoken::EncodingKey,
    ec_kid: String,
    ec_jwk: serde_json::Value,
}

/// A signing algorithm a [`TestIssuer`] signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestAlgorithm {
    Rs256,
    Es256,
}

/// The test issuer's RSA key (PKCS#8), made for tests with `openssl genpkey`; it guards nothing.
const TEST_RSA_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDMA4CS+Eyc1BON\n\
OszgKPMqRZKZ0CUGuiimXT06C3TzDsDiz/eMSuby0NI7wyg38P8GNdaX/bIIRzg3\n\
BDumKNm7fPMA8cthyb7QodJqNsJtb0WCRzaDHUvDW2IGKglGInO5Mm1+Ss3ZMmJc\n\
UCuufO/Bvw+kZtSsH3lzuSVUgpqtJj/LQgLIzJ759kqz8hDtI2kmlPOsT8I5bOuY\n\
J90NdfY/Jo9yjqI7XW3AaX+kGv2XfhflvKkZ7XI0skU/VNwk4B3YHrE6PFX6QP9y\n\
5TlpK2xXy+nwiNn3MQqT6umUatHkdD2YK6YknePlkG9JKB+1cpfeUjEMg7cE4xME\n\
PXqIfWmHAgMBAAECggEABlO7epNhyOFY4+HldbQ/almzBLssUsuWNCajHfg5/cnA\n\
2KfrfPnbtL8eLgVM64M5XYdw6tDO4yvWRfqHIQ2WRxbGcIqPLK61kMHcBThCimNP\n\
jA1KVwGjFmFwplFKbVbnMOCr/aUzQh+qZkOEP0qXovIaeZZI1Te6rAibbEYKpwEA\n\
+tsUXJogMCt/SV9aahM2wrSP4hU4p7qIQxJWz/ZZNGplVR0NlKt/V85GT/wkKaTk\n\
kfkHSwujEJVcstaUg54gv3rU5tOcB+pqLKmjynbkQ/yaZw0+1tbXOj+2NrRDiQXX\n\
Yu0By7tawMbdkVxlHAb3jxfpdkFOrEkZmb9GeOGryQKBgQDwjggLqFUBVpnRTiS/\n\
U0xT0m/rChaGmFsuBZCrsvToIxIPJ+qpvbYLvP119pXck+3AfHar8FqAVeoQI6r0\n\
9JfkT+Y3pmFnfmpnMZ8pcZKw9iNuZmFC4gp7erqQrthMIkTalBPSuiAUZO12l5VX\n\
bNNIgeyk9zef6Jb6XCbRfNQbvwKBgQDZHNlU8GrrwUB0gHyL7SRgWBJRitiYxyWE\n\
MBUZAa/TYdh0AovzvVA4ubl78px5hesgcxXXXfq3ZnFj390fJmB81y7q2kL8pnrz\n\
0DDod7smtX8e8cuodBjCOWCnsO093biv8JVvsaLXvGLxnJtZ1R0QQC/SN9ZlYPhq\n\
KugXzTvEOQKBgD4Oth6jx4I34Cix+yLsj1VUhZDiIluItIUT5HWXDj1QxtjoGE6/\n\
5VXz5INpINIty3kL4uWKdR6Ei4SsXu8gpoq83gxfPOOhJjwG/iOH7CsA5LUXbmH9\n\
xGyEhdrLcHt7n72v08laQOph+yzMADf0mDEta2pHaK81JrXhzhXfGS0rAoGAQ0Uv\n\
CaRcXKPKJs7QyEI37SocsutEZUH/G9ASGWduZR6CBJ/tYR4dRxY0pHTtirG1wp4l\n\
/E8AKecx5vIr/0TSzJuXy+jIrKOgoP62yLCgakP+GUZuBcnDChrhGdQ2Dd8vJER0\n\
6OCvRgz200nk0Ja5pJlet9HZOhwrnCmjNAzBIfECgYA7auKFLMvTs9M/seyIMZ69\n\
+RH+EsvMe9RQgaDTnqc1RVMDWkiipVYG+z6ots7uytwuI8ZS7i+gviQHjYqQm5b7\n\
8wZx+PMqnt/mvQA8BAhqxXHl/kJqo6qe/ipOIRKDc/7LL8CF5X70xw9izjXFcyl5\n\
KtfGEHee38eM+3tXXUWqpA==\n\
-----END PRIVATE KEY-----\n\
";
/// Its public modulus and exponent, base64url, as a JWK publishes them.
const TEST_RSA_N: &str = "zAOAkvhMnNQTjTrM4CjzKkWSmdAlBroopl09Ogt08w7A4s_3jErm8tDSO8MoN_D_BjXWl_2yCEc4NwQ7pijZu3zzAPHLYcm-0KHSajbCbW9Fgkc2gx1Lw1tiBioJRiJzuTJtfkrN2TJiXFArrnzvwb8PpGbUrB95c7klVIKarSY_y0ICyMye-fZKs_IQ7SNpJpTzrE_COWzrmCfdDXX2PyaPco6iO11twGl_pBr9l34X5bypGe1yNLJFP1TcJOAd2B6xOjxV-kD_cuU5aStsV8vp8IjZ9zEKk-rplGrR5HQ9mCumJJ3j5ZBvSSgftXKX3lIxDIO3BOMTBD16iH1phw";
const TEST_RSA_E: &str = "AQAB";

impl TestIssuer {
    pub const ISSUER: &'static str = "https://issuer.shequ.test";
    pub const AUDIENCE: &'static str = "shequ";
    pub const RSA_KID: &'static str = "rsa-1";

    pub fn new() -> anyhow::Result<Self> {
        let (ec, ec_jwk) = p256_key("ec-1")?;
        let issuer = Self {
            dir: tempfile::tempdir()?,
            ec,
            ec_kid: "ec-1".to_owned(),
            ec_jwk,
        };
        issuer.publish()?;
        Ok(issuer)
    }

    /// The JWKS file a service reads.
    pub fn jwks_path(&self) -> std::path::PathBuf {
        self.dir.path().join("jwks.json")
    }

    fn publish(&self) -> anyhow::Result<()> {
        let set = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": Self::RSA_KID, "use": "sig", "alg": "RS256", "n": TEST_RSA_N, "e": TEST_RSA_E},
            self.ec_jwk,
        ]});
        // Written beside and renamed, so a reader never sees half a file.
        let next = self.dir.path().join("jwks.json.next");
        std::fs::write(&next, serde_json::to_vec(&set)?)?;
        std::fs::rename(next, self.jwks_path())?;
        Ok(())
    }

    /// Replaces the P-256 key with a new one under the id `kid` and republishes the key set.
    pub fn rotate_ec_key(&mut self, kid: &str) -> anyhow::Result<()> {
        let (ec, jwk) = p256_key(kid)?;
        self.ec = ec;
        self.ec_jwk = jwk;
        self.ec_kid = kid.to_owned();
        self.publish()
    }

    /// `[auth]` settings that trust this issuer.
    pub fn auth_config(&self) -> shequ_platform::AuthConfig {
        shequ_platform::AuthConfig {
            mode: shequ_platform::auth::AuthMode::Jwt,
            jwks_file: self.jwks_path().display().to_string(),
            issuer: Self::ISSUER.to_owned(),
            audience: Self::AUDIENCE.to_owned(),
            leeway_secs: 0,
            allow_off_with_postgres: false,
        }
    }

    /// Claims of a principal valid for ten minutes.
    pub fn claims(subject: &str, roles: &[&str], divisions: &[&str]) -> serde_json::Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        serde_json::json!({
            "iss": Self::ISSUER,
            "aud": Self::AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 600,
            "roles": roles,
            "divisions": divisions,
        })
    }

    /// A valid RS256 token for the principal.
    pub fn token(&self, subject: &str, roles: &[&str], divisions: &[&str]) -> String {
        self.sign(
            TestAlgorithm::Rs256,
            &Self::claims(subject, roles, divisions),
        )
    }

    /// `claims` signed with this issuer's key for `algorithm`.
    pub fn sign(&self, algorithm: TestAlgorithm, claims: &serde_json::Value) -> String {
        match algorithm {
            TestAlgorithm::Rs256 => {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
                header.kid = Some(Self::RSA_KID.to_owned());
                let key = jsonwebtoken::EncodingKey::from_rsa_pem(TEST_RSA_KEY.as_bytes())
                    .expect("the test RSA key parses");
                jsonwebtoken::encode(&header, claims, &key).expect("signing succeeds")
            }
            TestAlgorithm::Es256 => {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
                header.kid = Some(self.ec_kid.clone());
                jsonwebtoken::encode(&header, claims, &self.ec).expect("signing succeeds")
            }
        }
    }

    /// `claims` signed by a key nobody published, under this issuer's P-256 key id: a forgery.
    pub fn forge(&self, claims: &serde_json::Value) -> String {
        let (key, _) = p256_key(&self.ec_kid).expect("a P-256 key is generated");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.ec_kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("signing succeeds")
    }
}

/// A fresh P-256 signing key and its public JWK.
fn p256_key(kid: &str) -> anyhow::Result<(jsonwebtoken::EncodingKey, serde_json::Value)> {
    use base64::Engine as _;
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let point = pair.public_key_raw();
    anyhow::ensure!(point.len() == 65 && point[0] == 4, "unexpected P-256 point");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65]),
    });
    Ok((
        jsonwebtoken::EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk,
    ))
}

/// `message` as a request carrying `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a token is ASCII"),
    );
    request
}
