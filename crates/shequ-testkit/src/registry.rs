//! The facility registry as a [`TestService`]: its test configuration, its constructors and its
//! clients.

use shequ_platform::Shutdown;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use shequ_registry::{Registry, RegistryConfig};
use tokio::net::TcpListener;
use tonic::transport::Channel;

use crate::TestDatabase;
use crate::service::{ServiceUnderTest, TestService, test_config};

impl ServiceUnderTest for Registry {
    const NAME: &'static str = "registry";
    type Config = RegistryConfig;

    fn load(overrides: &[(&str, String)]) -> anyhow::Result<RegistryConfig> {
        Ok(RegistryConfig::load(None, overrides)?)
    }

    fn serve(
        cfg: RegistryConfig,
        listener: TcpListener,
        shutdown: Shutdown,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        shequ_registry::serve(cfg, listener, shutdown)
    }
}

/// Configuration for a registry on an ephemeral port with `database_url`, checking readiness and
/// following its change log often.
pub fn registry_config(database_url: &str) -> anyhow::Result<RegistryConfig> {
    test_config::<Registry>(
        database_url,
        &[("registry.watch_poll_interval_ms", "100".to_owned())],
    )
}

impl TestService<Registry> {
    /// A registry with a fresh database of the kind the environment selects.
    pub async fn registry() -> anyhow::Result<Self> {
        Self::registry_on(TestDatabase::fresh().await?).await
    }

    /// A registry on `database`: a fresh one, or another registry's
    /// ([`TestDatabase::alias`]) for a second replica.
    pub async fn registry_on(database: TestDatabase) -> anyhow::Result<Self> {
        let cfg = registry_config(database.url())?;
        Self::start_with(cfg, database).await
    }

    pub async fn divisions(&self) -> anyhow::Result<DivisionServiceClient<Channel>> {
        Ok(DivisionServiceClient::new(self.channel().await?).max_decoding_message_size(64 << 20))
    }

    pub async fn facilities(&self) -> anyhow::Result<FacilityServiceClient<Channel>> {
        Ok(FacilityServiceClient::new(self.channel().await?).max_decoding_message_size(64 << 20))
    }
}
