//! The one client every service uses to ask the facility registry about the hierarchy: the
//! ancestors of a division (remembered in one bounded cache for a minute), a division, and the
//! names of a division's children, each call carrying the trace context and the calling
//! service's own credentials (`[client]`). A registry that cannot be reached, or that refuses
//! those credentials, is a [`RegistryFailure`]: the platform's dependency failure, never a
//! verdict on the division, and never remembered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shequ_domain::{DivisionCode, DivisionLevel};
use shequ_proto::names::division_name;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use tonic::{Code, Status, Streaming};

use crate::client::{ClientConfig, ClientConfigError, ServiceChannel};
use crate::error::ServiceError;

/// The registry as the statuses of the services that call it name it.
pub const REGISTRY: &str = "the facility registry";

/// How long an ancestry the registry gave is used before it is asked again.
pub const ANCESTRY_TTL: Duration = Duration::from_secs(60);
/// Most ancestries remembered at once.
pub const MAX_ANCESTRIES: usize = 10_000;
/// Largest message a registry answer may be (a whole country's leaf-unit facts come in batches).
const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Divisions asked for in one `ListDivisions` page.
const NAMES_PAGE: i32 = 1000;

/// A registry call that failed, with its cause (logged, never shown to a client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryFailure {
    /// The registry cannot be reached, or failed mid-call; the caller may retry.
    #[error("{REGISTRY} unavailable: {0}")]
    Unavailable(String),
    /// The registry answered, but refused this service's own credentials.
    #[error("{REGISTRY} refused this service's call: {0}")]
    Refused(String),
}

impl RegistryFailure {
    /// A failed call's status: refused credentials (UNAUTHENTICATED, PERMISSION_DENIED) or a
    /// registry that cannot be used right now (anything else).
    pub fn of(status: &Status) -> Self {
        let cause = format!("{}: {}", status.code(), status.message());
        match status.code() {
            Code::Unauthenticated | Code::PermissionDenied => Self::Refused(cause),
            _ => Self::Unavailable(cause),
        }
    }
}

impl<S> From<RegistryFailure> for ServiceError<S> {
    fn from(failure: RegistryFailure) -> Self {
        match failure {
            RegistryFailure::Unavailable(cause) => Self::dependency_unavailable(REGISTRY, cause),
            RegistryFailure::Refused(cause) => Self::dependency_refused(REGISTRY, cause),
        }
    }
}

/// The registry's gRPC clients, carrying trace context and this service's credentials, with the
/// ancestries they learnt; cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct RegistryClient {
    divisions: DivisionServiceClient<ServiceChannel>,
    facilities: FacilityServiceClient<ServiceChannel>,
    ancestries: Arc<AncestryCache>,
}

impl RegistryClient {
    /// Clients for `endpoint` with the credentials of `client`; the connection is made on first
    /// use and remade after failures.
    pub fn new(
        client: &ClientConfig,
        endpoint: &str,
        timeout: Duration,
    ) -> Result<Self, ClientConfigError> {
        let channel = client.channel(endpoint, timeout)?;
        let interceptor = client.interceptor()?;
        Ok(Self {
            divisions: DivisionServiceClient::with_interceptor(
                channel.clone(),
                interceptor.clone(),
            )
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
            facilities: FacilityServiceClient::with_interceptor(channel, interceptor)
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            ancestries: Arc::new(AncestryCache::new(MAX_ANCESTRIES, ANCESTRY_TTL)),
        })
    }

    /// Division `code` followed by its ancestors by the registry's parent links, as remembered
    /// for [`ANCESTRY_TTL`]; `None` when the registry does not know the code (not remembered:
    /// the registry may learn it later).
    pub async fn ancestry(
        &self,
        code: DivisionCode,
    ) -> Result<Option<Arc<[DivisionCode]>>, RegistryFailure> {
        if let Some(known) = self.ancestries.get(code, Instant::now()) {
            return Ok(Some(known));
        }
        let Some(ancestors) = self.ancestors(code).await? else {
            return Ok(None);
        };
        let mut codes = vec![code];
        for a in &ancestors {
            codes.push(DivisionCode::parse(&a.code).map_err(|_| {
                RegistryFailure::Unavailable(format!(
                    "ancestor code `{}` is not a division code",
                    a.code
                ))
            })?);
        }
        let codes: Arc<[DivisionCode]> = codes.into();
        self.ancestries.put(code, codes.clone(), Instant::now());
        Ok(Some(codes))
    }

    /// The ancestors of division `code` as the registry answers them now (province first);
    /// `None` when it does not know the code.
    pub async fn ancestors(
        &self,
        code: DivisionCode,
    ) -> Result<Option<Vec<pb::Division>>, RegistryFailure> {
        match self
            .divisions
            .clone()
            .list_division_ancestors(pb::ListDivisionAncestorsRequest {
                name: division_name(code),
            })
            .await
        {
            Ok(r) => Ok(Some(r.into_inner().ancestors)),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(RegistryFailure::of(&s)),
        }
    }

    /// The division, or `None` when the registry does not know it.
    pub async fn division(
        &self,
        code: DivisionCode,
    ) -> Result<Option<pb::Division>, RegistryFailure> {
        match self
            .divisions
            .clone()
            .get_division(pb::GetDivisionRequest {
                name: division_name(code),
            })
            .await
        {
            Ok(r) => Ok(r.into_inner().division),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(RegistryFailure::of(&s)),
        }
    }

    /// The level of division `code` as the registry keeps it; `None` when it does not know the
    /// code.
    pub async fn division_level(
        &self,
        code: DivisionCode,
    ) -> Result<Option<DivisionLevel>, RegistryFailure> {
        let Some(division) = self.division(code).await? else {
            return Ok(None);
        };
        DivisionLevel::from_number(i64::from(division.level))
            .map(Some)
            .ok_or_else(|| {
                RegistryFailure::Unavailable(format!(
                    "division `{}` has no level the contract names ({})",
                    division.name, division.level
                ))
            })
    }

    /// The official names of `division` (the country when `None`) and of its children, retired
    /// ones included, by code, in pages of a thousand; `None` when the registry does not know
    /// the division.
    pub async fn division_names(
        &self,
        division: Option<DivisionCode>,
    ) -> Result<Option<HashMap<i64, String>>, RegistryFailure> {
        let mut names = HashMap::new();
        if let Some(code) = division {
            match self.division(code).await? {
                Some(d) => names.insert(code.as_i64(), d.display_name),
                None => return Ok(None),
            };
        }
        let parent = division.map(division_name).unwrap_or_default();
        let mut client = self.divisions.clone();
        let mut page_token = String::new();
        loop {
            let page = match client
                .list_divisions(pb::ListDivisionsRequest {
                    parent: parent.clone(),
                    page_size: NAMES_PAGE,
                    page_token,
                    show_retired: true,
                })
                .await
            {
                Ok(page) => page.into_inner(),
                Err(s) if s.code() == Code::NotFound => return Ok(None),
                Err(s) => return Err(RegistryFailure::of(&s)),
            };
            for d in page.divisions {
                if let Ok(code) = d.code.parse::<i64>() {
                    names.insert(code, d.display_name);
                }
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        Ok(Some(names))
    }

    /// The facts of every leaf unit under `parent` (the country when `None`), as the registry
    /// streams them; the caller judges each status, since a missing parent means something
    /// different to each service.
    pub async fn leaf_unit_facts(
        &self,
        parent: Option<DivisionCode>,
    ) -> Result<Streaming<pb::StreamLeafUnitFactsResponse>, Status> {
        Ok(self
            .facilities
            .clone()
            .stream_leaf_unit_facts(pb::StreamLeafUnitFactsRequest {
                parent: parent.map(division_name).unwrap_or_default(),
            })
            .await?
            .into_inner())
    }
}

/// Ancestries the registry gave (a division, then its ancestors), by division code, each with
/// when it was asked for; at most `bound` of them, each used for `ttl`.
#[derive(Debug)]
pub struct AncestryCache {
    bound: usize,
    ttl: Duration,
    entries: Mutex<HashMap<i64, Learnt>>,
}

/// When an ancestry was learnt, and the ancestry.
type Learnt = (Instant, Arc<[DivisionCode]>);

impl AncestryCache {
    pub fn new(bound: usize, ttl: Duration) -> Self {
        Self {
            bound,
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The ancestry of `code`, when it was learnt less than `ttl` before `now`.
    pub fn get(&self, code: DivisionCode, now: Instant) -> Option<Arc<[DivisionCode]>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&code.as_i64())
            .filter(|(at, _)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(_, codes)| codes.clone())
    }

    /// Remembers the ancestry of `code`, learnt at `now`. When the cache is full the stale
    /// entries go first, and everything when none is stale.
    pub fn put(&self, code: DivisionCode, codes: Arc<[DivisionCode]>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.bound && !entries.contains_key(&code.as_i64()) {
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < self.ttl);
            if entries.len() >= self.bound {
                entries.clear();
            }
        }
        entries.insert(code.as_i64(), (now, codes));
    }

    /// How many ancestries are remembered, stale ones included.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(n: u64) -> DivisionCode {
        DivisionCode::from_u64(n).unwrap()
    }

    fn chain(n: u64) -> Arc<[DivisionCode]> {
        Arc::from([code(n), code(110_000_000_000)])
    }

    #[test]
    fn an_ancestry_is_used_until_its_ttl_passes() {
        let cache = AncestryCache::new(10, Duration::from_secs(60));
        let t0 = Instant::now();
        let beijing = 110_101_000_000;
        cache.put(code(beijing), chain(beijing), t0);
        assert_eq!(cache.get(code(beijing), t0), Some(chain(beijing)));
        let later = t0 + Duration::from_secs(59);
        assert_eq!(cache.get(code(beijing), later), Some(chain(beijing)));
        assert_eq!(cache.get(code(beijing), t0 + Duration::from_secs(60)), None);
        assert_eq!(cache.get(code(110_102_000_000), t0), None);
    }

    #[test]
    fn a_full_cache_drops_stale_entries_first_and_never_grows_past_its_bound() {
        let ttl = Duration::from_secs(60);
        let cache = AncestryCache::new(3, ttl);
        let t0 = Instant::now();
        let (a, b, c, d, e) = (
            110_101_000_000,
            110_102_000_000,
            110_105_000_000,
            110_106_000_000,
            110_107_000_000,
        );
        cache.put(code(a), chain(a), t0);
        let t1 = t0 + Duration::from_secs(30);
        cache.put(code(b), chain(b), t1);
        cache.put(code(c), chain(c), t1);
        // Full: `a` is stale by now and makes room; the fresh ones stay.
        let t2 = t0 + Duration::from_secs(61);
        cache.put(code(d), chain(d), t2);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(code(a), t2), None);
        assert!(cache.get(code(b), t2).is_some());
        assert!(cache.get(code(d), t2).is_some());
        // Replacing a remembered code needs no room.
        cache.put(code(d), chain(d), t2);
        assert_eq!(cache.len(), 3);
        // Full of fresh entries: it starts again rather than grow.
        cache.put(code(e), chain(e), t2);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(code(e), t2).is_some());
        assert_eq!(cache.get(code(b), t2), None);
    }

    #[test]
    fn refused_credentials_are_told_apart_from_an_unavailable_registry() {
        for code in [Code::Unauthenticated, Code::PermissionDenied] {
            let failure = RegistryFailure::of(&Status::new(code, "bad token"));
            assert!(matches!(failure, RegistryFailure::Refused(_)), "{failure}");
        }
        for code in [Code::Unavailable, Code::DeadlineExceeded, Code::Internal] {
            let failure = RegistryFailure::of(&Status::new(code, "down"));
            assert!(
                matches!(failure, RegistryFailure::Unavailable(_)),
                "{failure}"
            );
        }
    }

    #[tokio::test]
    async fn failures_are_never_remembered() {
        // Nothing listens on port 1: every call fails, and each is asked anew.
        let registry = RegistryClient::new(
            &ClientConfig::default(),
            "http://127.0.0.1:1",
            Duration::from_secs(1),
        )
        .unwrap();
        let beijing = code(110_101_000_000);
        for _ in 0..2 {
            let failure = registry.ancestry(beijing).await.unwrap_err();
            assert!(
                matches!(failure, RegistryFailure::Unavailable(_)),
                "{failure}"
            );
            assert!(registry.ancestries.is_empty());
        }
    }
}
