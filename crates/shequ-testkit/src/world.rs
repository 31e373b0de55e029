//! The world the authorization tests start from: one [`TestIssuer`], the token files services
//! call their sources with, and services in `jwt` mode that trust the issuer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use shequ_monitoring::Monitoring;
use shequ_platform::auth::NATIONAL;
use shequ_registry::Registry;
use shequ_survey::Survey;

use crate::fixtures::{self, SAMPLE};
use crate::{
    TestDatabase, TestIssuer, TestService, monitoring_config, registry_config, survey_config,
    with_token,
};

/// A test issuer and the services that trust it. Each service runs in `jwt` mode on a fresh
/// database; the survey and the monitor call their sources with the token in a file of this
/// world (or with none).
pub struct AuthWorld {
    pub issuer: TestIssuer,
    files: tempfile::TempDir,
    next_file: AtomicUsize,
}

impl AuthWorld {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            issuer: TestIssuer::new()?,
            files: tempfile::tempdir()?,
            next_file: AtomicUsize::new(0),
        })
    }

    /// A token of `admin`, a national registry editor: the principal that imports divisions.
    pub fn registry_editor(&self) -> String {
        self.issuer
            .token("admin", &["registry.editor"], &[NATIONAL])
    }

    /// A new file holding `token`, for a service's `[client] token_file`.
    pub fn token_file(&self, token: &str) -> anyhow::Result<PathBuf> {
        let n = self.next_file.fetch_add(1, Ordering::Relaxed);
        let path = self.files.path().join(format!("token-{n}"));
        std::fs::write(&path, token)?;
        Ok(path)
    }

    /// The file holding `subject`'s own token (role `service`, national scope), as a Secret
    /// mounts it; written on first use.
    pub fn service_token_file(&self, subject: &str) -> anyhow::Result<PathBuf> {
        let path = self.files.path().join(format!("{subject}-token"));
        if !path.exists() {
            let token = self.issuer.token(subject, &["service"], &[NATIONAL]);
            std::fs::write(&path, format!("{token}\n"))?;
        }
        Ok(path)
    }

    /// A registry trusting the issuer.
    pub async fn registry(&self) -> anyhow::Result<TestService<Registry>> {
        let database = TestDatabase::fresh().await?;
        let mut cfg = registry_config(database.url())?;
        cfg.auth = self.issuer.auth_config();
        TestService::start_with(cfg, database).await
    }

    /// A registry trusting the issuer, holding the sample divisions (imported by
    /// [`AuthWorld::registry_editor`]).
    pub async fn registry_with_sample(&self) -> anyhow::Result<TestService<Registry>> {
        let registry = self.registry().await?;
        let requests = fixtures::import_requests(&SAMPLE, "2023", 64 * 1024);
        registry
            .divisions()
            .await?
            .import_divisions(with_token(
                tokio_stream::iter(requests),
                &self.registry_editor(),
            ))
            .await?;
        Ok(registry)
    }

    /// A survey service trusting the issuer, asking the registry at `registry_endpoint` with the
    /// token in `token_file` (none: without credentials).
    pub async fn survey(
        &self,
        registry_endpoint: &str,
        token_file: Option<&Path>,
    ) -> anyhow::Result<TestService<Survey>> {
        let database = TestDatabase::fresh().await?;
        let mut cfg = survey_config(database.url(), registry_endpoint)?;
        cfg.auth = self.issuer.auth_config();
        cfg.client.token_file = token_file_setting(token_file);
        TestService::start_with(cfg, database).await
    }

    /// A monitor trusting the issuer, reading the registry and the survey service at the given
    /// endpoints with the token in `token_file` (none: without credentials).
    pub async fn monitoring(
        &self,
        registry_endpoint: &str,
        survey_endpoint: &str,
        token_file: Option<&Path>,
    ) -> anyhow::Result<TestService<Monitoring>> {
        let database = TestDatabase::fresh().await?;
        let mut cfg = monitoring_config(database.url(), registry_endpoint, survey_endpoint)?;
        cfg.auth = self.issuer.auth_config();
        cfg.client.token_file = token_file_setting(token_file);
        TestService::start_with(cfg, database).await
    }
}

/// `[client] token_file` for `path`: empty for none.
fn token_file_setting(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}
