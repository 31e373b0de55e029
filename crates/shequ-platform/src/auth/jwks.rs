//! JWT verification against a JWKS file that is reread when it changes, so the issuer's keys
//! rotate without a restart. Only RS256 (RSA keys) and ES256 (P-256 keys) are accepted; a key's
//! type decides its algorithm, so a token cannot choose a weaker one.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use shequ_domain::DivisionCode;

use super::{AuthConfigError, NATIONAL, Principal, PrincipalKind, Role, Scope};

/// How often the key file's modification time is looked at, at most.
const RECHECK: Duration = Duration::from_secs(1);

/// Why a token was refused; every kind is UNAUTHENTICATED to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token header has no `kid`")]
    NoKeyId,
    #[error("token names an unknown key `{0}`")]
    UnknownKey(String),
    #[error("token algorithm is not accepted for its key")]
    Algorithm,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer is not accepted")]
    Issuer,
    #[error("token audience is not accepted")]
    Audience,
    #[error("token claim `{0}` is missing or malformed")]
    Claim(String),
}

struct Key {
    decoding: DecodingKey,
    algorithm: Algorithm,
}

/// Modification time and length of a key file, to tell when it changed.
type FileStamp = Option<(SystemTime, u64)>;

struct KeySet {
    keys: HashMap<String, Key>,
    /// Stamp of the file the keys came from.
    stamp: FileStamp,
    checked: Instant,
}

/// Verifies bearer tokens for one issuer and audience.
pub struct JwtVerifier {
    path: PathBuf,
    issuer: String,
    audience: String,
    leeway_secs: u64,
    keys: Mutex<KeySet>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("path", &self.path)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    divisions: Vec<String>,
}

impl JwtVerifier {
    pub fn open(
        path: PathBuf,
        issuer: &str,
        audience: &str,
        leeway_secs: u64,
    ) -> Result<Self, AuthConfigError> {
        let (keys, stamp) = read_key_set(&path).map_err(|reason| AuthConfigError::KeySet {
            path: path.display().to_string(),
            reason,
        })?;
        tracing::info!(path = %path.display(), keys = keys.len(), "token keys loaded");
        Ok(Self {
            path,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway_secs,
            keys: Mutex::new(KeySet {
                keys,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// Verifies `token` and reads its principal.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let (decoding, algorithm) = self.key(&kid)?;
        if header.alg != algorithm {
            return Err(TokenError::Algorithm);
        }
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        let data =
            jsonwebtoken::decode::<Claims>(token, &decoding, &validation).map_err(token_error)?;
        principal_of(data.claims)
    }

    /// The key named `kid`, rereading the file first if it changed since the last look.
    fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), TokenError> {
        let mut set = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if set.checked.elapsed() >= RECHECK || !set.keys.contains_key(kid) {
            self.reload_if_changed(&mut set);
        }
        set.keys
            .get(kid)
            .map(|k| (k.decoding.clone(), k.algorithm))
            .ok_or_else(|| TokenError::UnknownKey(kid.chars().take(64).collect()))
    }

    fn reload_if_changed(&self, set: &mut KeySet) {
        // An unknown `kid` may not force a reread more often than RECHECK either.
        if set.checked.elapsed() < RECHECK {
            return;
        }
        set.checked = Instant::now();
        let stamp = file_stamp(&self.path);
        if stamp.is_some() && stamp == set.stamp {
            return;
        }
        match read_key_set(&self.path) {
            Ok((keys, stamp)) => {
                tracing::info!(path = %self.path.display(), keys = keys.len(), "token keys reloaded");
                set.keys = keys;
                set.stamp = stamp;
            }
            Err(reason) => {
                tracing::warn!(path = %self.path.display(), %reason, "token keys not reloaded, keeping the previous ones");
            }
        }
    }
}

fn file_stamp(path: &std::path::Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reads a JWKS file, keeping the RSA and P-256 keys that carry a `kid`; other keys (symmetric
/// ones above all) are skipped with a warning.
fn read_key_set(path: &std::path::Path) -> Result<(HashMap<String, Key>, FileStamp), String> {
    let stamp = file_stamp(path);
    let text = std::fs::read(path).map_err(|e| e.to_string())?;
    let set: JwkSet = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            tracing::warn!("token key without `kid` skipped");
            continue;
        };
        let algorithm = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => {
                tracing::warn!(kid = %kid, "token key of an unaccepted type skipped");
                continue;
            }
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(decoding) => {
                keys.insert(
                    kid,
                    Key {
                        decoding,
                        algorithm,
                    },
                );
            }
            Err(e) => tracing::warn!(kid = %kid, error = %e, "unreadable token key skipped"),
        }
    }
    Ok((keys, stamp))
}

fn token_error(e: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => TokenError::Signature,
        K::ExpiredSignature => TokenError::Expired,
        K::ImmatureSignature => TokenError::NotYetValid,
        K::InvalidIssuer => TokenError::Issuer,
        K::InvalidAudience => TokenError::Audience,
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::UnsupportedAlgorithm => {
            TokenError::Algorithm
        }
        K::MissingRequiredClaim(c) | K::InvalidClaimFormat(c) => TokenError::Claim(c.clone()),
        K::Json(_) => TokenError::Claim("sub".to_owned()),
        _ => TokenError::Malformed,
    }
}

fn principal_of(claims: Claims) -> Result<Principal, TokenError> {
    if claims.sub.is_empty() {
        return Err(TokenError::Claim("sub".to_owned()));
    }
    let mut roles = BTreeSet::new();
    for name in &claims.roles {
        // Roles of other systems may share a token; only ours count.
        if let Some(role) = Role::parse(name) {
            roles.insert(role);
        }
    }
    let mut divisions = BTreeSet::new();
    let mut national = false;
    for text in &claims.divisions {
        if text == NATIONAL {
            national = true;
            continue;
        }
        if text.len() != 12 {
            return Err(TokenError::Claim("divisions".to_owned()));
        }
        let code = DivisionCode::parse(text).map_err(|_| TokenError::Claim("divisions".into()))?;
        divisions.insert(code);
    }
    Ok(Principal {
        subject: claims.sub,
        kind: PrincipalKind::Token,
        roles,
        scope: if national {
            Scope::National
        } else {
            Scope::Within(divisions)
        },
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
        key: EncodingKey,
    }

    /// A JWKS file holding one fresh P-256 key `ec-1`, and an HMAC key the verifier must skip.
    fn fixture() -> Fixture {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let point = pair.public_key_raw();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let set = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec-1", "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65])},
            {"kty": "oct", "kid": "hmac", "k": b64.encode(b"secret")},
        ]});
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, serde_json::to_vec(&set).unwrap()).unwrap();
        Fixture {
            _dir: dir,
            path,
            key: EncodingKey::from_ec_der(&pair.serialize_der()),
        }
    }

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let now = jsonwebtoken::get_current_timestamp();
        let mut c = serde_json::json!({
            "iss": "issuer", "aud": "shequ", "sub": "official", "exp": now + 60,
            "roles": ["registry.reader", "unknown.role"], "divisions": ["110101000000"],
        });
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                c.insert(k.clone(), v.clone());
            }
        }
        c
    }

    fn sign(f: &Fixture, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &f.key).unwrap()
    }

    #[test]
    fn verifies_and_reads_the_principal() {
        let f = fixture();
        let v = JwtVerifier::open(f.path.clone(), "issuer", "shequ", 0).unwrap();
        let p = v
            .verify(&sign(&f, "ec-1", &claims(serde_json::json!({}))))
            .unwrap();
        assert_eq!(p.subject, "official");
        assert_eq!(p.roles, BTreeSet::from([Role::RegistryReader]));
        assert_eq!(
            p.scope,
            Scope::Within(BTreeSet::from([DivisionCode::parse("110101").unwrap()]))
        );
        let national = v
            .verify(&sign(
                &f,
                "ec-1",
                &claims(serde_json::json!({"divisions": [NATIONAL]})),
            ))
            .unwrap();
        assert!(national.scope.is_national());
    }

    #[test]
    fn refuses_every_bad_token() {
        let f = fixture();
        let v = JwtVerifier::open(f.path.clone(), "issuer", "shequ", 0).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let cases = [
            (
                sign(&f, "ec-1", &claims(serde_json::json!({"exp": now - 10}))),
                TokenError::Expired,
            ),
            (
                sign(&f, "ec-1", &claims(serde_json::json!({"iss": "other"}))),
                TokenError::Issuer,
            ),
            (
                sign(&f, "ec-1", &claims(serde_json::json!({"aud": "other"}))),
                TokenError::Audience,
            ),
            (
                sign(&f, "nope", &claims(serde_json::json!({}))),
                TokenError::UnknownKey("nope".into()),
            ),
            ("a.b.c".to_owned(), TokenError::Malformed),
        ];
        for (token, expected) in cases {
            assert_eq!(v.verify(&token).unwrap_err(), expected);
        }
        // A symmetric key in the set is never used: HS256 signed with it names an unknown key.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("hmac".into());
        let hmac = jsonwebtoken::encode(
            &header,
            &claims(serde_json::json!({})),
            &EncodingKey::from_secret(b"secret").unwrap(),
        )
        .unwrap();
        assert_eq!(
            v.verify(&hmac).unwrap_err(),
            TokenError::UnknownKey("hmac".into())
        );
        // A token that claims another algorithm for the EC key.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("ec-1".into());
        let confused = jsonwebtoken::encode(
            &header,
            &claims(serde_json::json!({})),
            &EncodingKey::from_secret(b"anything").unwrap(),
        )
        .unwrap();
        assert_eq!(v.verify(&confused).unwrap_err(), TokenError::Algorithm);
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let f = fixture();
        let v = JwtVerifier::open(f.path.clone(), "issuer", "shequ", 0).unwrap();
        let valid = sign(&f, "ec-1", &claims(serde_json::json!({})));
        // Every prefix and every single-byte corruption of a valid token.
        for i in 0..valid.len() {
            assert!(v.verify(&valid[..i]).is_err());
            let mut bytes = valid.clone().into_bytes();
            bytes[i] = if bytes[i] == b'.' { b'x' } else { b'.' };
            let text = String::from_utf8(bytes).unwrap();
            assert!(v.verify(&text).is_err(), "corrupted at {i}");
        }
    }

    #[test]
    fn an_unreadable_key_file_keeps_the_last_good_keys() {
        let f = fixture();
        let v = JwtVerifier::open(f.path.clone(), "issuer", "shequ", 0).unwrap();
        let token = sign(&f, "ec-1", &claims(serde_json::json!({})));
        std::fs::write(&f.path, b"{not json").unwrap();
        {
            let mut set = v.keys.lock().unwrap();
            set.checked = set.checked.checked_sub(RECHECK).unwrap_or(set.checked);
        }
        assert!(v.verify(&token).is_ok());
    }
}
