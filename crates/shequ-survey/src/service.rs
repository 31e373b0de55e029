//! The survey's logic, independent of gRPC: questionnaires, rounds, responses, results and exports.

pub mod access;
pub mod audit;
pub mod export;
pub mod live;
pub mod questionnaires;
pub mod responses;
pub mod results;
pub mod rounds;
pub mod tallies;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shequ_domain::{DivisionCode, DivisionLevel};
use shequ_platform::Database;
use shequ_platform::audit::AuditLog;
use shequ_platform::client::ClientConfig;
use shequ_platform::database::WriteTxn;
use shequ_platform::registry::{REGISTRY, RegistryClient};

use crate::config::SurveySettings;
use crate::error::{Result, SurveyError};
use crate::model::QuestionDef;
use crate::model::tally::Layout;
use crate::region::{Ancestors, RegionCache, RegionMap};

pub use crate::store::audit::AUDIT_TABLE;

/// Most leaf units looked up one by one that a round remembers.
const MAX_UNITS_LOOKED_UP: usize = 100_000;
/// How long a request waits for a round's region to load before it is told to retry.
const REGION_WAIT: Duration = Duration::from_secs(5);
/// How often an audit follower looks for records other replicas committed.
const AUDIT_POLL: Duration = Duration::from_secs(1);

/// Shared state of one survey service instance; cheap to clone.
#[derive(Clone)]
pub struct Survey {
    pub(crate) db: Database,
    pub(crate) settings: SurveySettings,
    /// The registry, with the ancestries it gave.
    pub(crate) registry: RegistryClient,
    pub(crate) audit: AuditLog,
    /// The fixed part of each round seen, with what is known of its region.
    rounds: Arc<std::sync::Mutex<HashMap<String, Arc<RoundContext>>>>,
}

/// What never changes about a round once created: its questionnaire version, region (`None`: the
/// whole country) and window; with what this process knows of its region and its tallies.
#[derive(Debug)]
pub struct RoundContext {
    pub id: String,
    pub region: Option<(DivisionCode, DivisionLevel)>,
    pub start_time: i64,
    pub end_time: i64,
    pub min_valid_responses: i32,
    pub questions: Vec<QuestionDef>,
    pub(crate) layout: Layout,
    pub(crate) region_cache: RegionCache,
    /// Held while folding the round's pending tally deltas.
    pub(crate) fold_turn: tokio::sync::Mutex<()>,
    /// Set when a background fold is wanted or running.
    pub(crate) fold_wanted: AtomicBool,
    /// When the round last committed and last folded in the background.
    pub(crate) fold_clock: std::sync::Mutex<tallies::FoldClock>,
    /// Whether the round's tallies are known not to need a rebuild.
    pub(crate) rebuild_checked: AtomicBool,
    /// Set when a background follow of the round's deltas is wanted or about to run.
    pub(crate) follow_wanted: AtomicBool,
    /// The round's live tallies, once this process has read or folded it.
    pub(crate) live: tokio::sync::Mutex<Option<live::Live>>,
}

impl RoundContext {
    /// The region's code as tallies key it: 0 for the whole country.
    pub fn region_key(&self) -> i64 {
        self.region.map(|r| r.0.as_i64()).unwrap_or(0)
    }

    /// Whether `code` is a leaf unit of the round that the registry confirmed one by one after
    /// the region map loaded.
    pub fn confirmed_late(&self, code: i64) -> bool {
        self.region_cache
            .extra
            .lock()
            .expect("not poisoned")
            .contains_key(&code)
    }
}

impl Survey {
    /// The service over `db`, calling the registry with the credentials of `client`.
    pub fn new(
        db: Database,
        settings: SurveySettings,
        client: &ClientConfig,
    ) -> anyhow::Result<Self> {
        let registry = RegistryClient::new(
            client,
            &settings.registry_endpoint,
            settings.registry_timeout(),
        )?;
        let audit = AuditLog::new(db.clone(), AUDIT_TABLE, AUDIT_POLL);
        Ok(Self {
            db,
            settings,
            registry,
            audit,
            rounds: Arc::default(),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The survey's audit trail.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    pub(crate) async fn begin_write(&self) -> Result<WriteTxn> {
        Ok(self.db.begin_write(None).await?)
    }

    /// The round's fixed part, read once per process.
    pub(crate) async fn round_context(&self, round_id: &str) -> Result<Arc<RoundContext>> {
        if let Some(ctx) = self.rounds.lock().expect("not poisoned").get(round_id) {
            return Ok(ctx.clone());
        }
        let round = self.get_round(round_id).await?;
        let version = self
            .get_version(&round.questionnaire_id, round.questionnaire_version)
            .await?;
        let questions: Vec<QuestionDef> = serde_json::from_str(&version.questions)
            .map_err(|e| SurveyError::Internal(format!("stored questions: {e}")))?;
        let region = if round.region_code == 0 {
            None
        } else {
            Some((
                DivisionCode::from_u64(round.region_code as u64)
                    .map_err(|e| SurveyError::Internal(e.to_string()))?,
                DivisionLevel::from_number(i64::from(round.region_level))
                    .ok_or_else(|| SurveyError::Internal("stored region level".into()))?,
            ))
        };
        let ctx = Arc::new(RoundContext {
            id: round.id.clone(),
            region,
            start_time: round.start_time,
            end_time: round.end_time,
            min_valid_responses: round.min_valid_responses,
            layout: Layout::new(&questions),
            questions,
            region_cache: RegionCache::default(),
            fold_turn: tokio::sync::Mutex::new(()),
            fold_wanted: AtomicBool::new(false),
            fold_clock: std::sync::Mutex::new(tallies::FoldClock::default()),
            rebuild_checked: AtomicBool::new(false),
            follow_wanted: AtomicBool::new(false),
            live: tokio::sync::Mutex::new(None),
        });
        Ok(self
            .rounds
            .lock()
            .expect("not poisoned")
            .entry(round_id.to_owned())
            .or_insert(ctx)
            .clone())
    }

    /// The round's region map. The first call starts loading it from the registry in the
    /// background; until it is loaded a caller waits a few seconds, then gets `UNAVAILABLE`.
    pub(crate) async fn region_map(&self, ctx: &Arc<RoundContext>) -> Result<Arc<RegionMap>> {
        self.region_map_within(ctx, REGION_WAIT)
            .await?
            .ok_or_else(|| {
                SurveyError::dependency_unavailable(
                    REGISTRY,
                    "the round's region is still loading from the registry; retry shortly",
                )
            })
    }

    /// The round's region map, `None` while it is still loading after `wait`; a failed load is
    /// the registry's error (and the next call tries again).
    pub(crate) async fn region_map_within(
        &self,
        ctx: &Arc<RoundContext>,
        wait: Duration,
    ) -> Result<Option<Arc<RegionMap>>> {
        let cache = &ctx.region_cache;
        if let Some(map) = cache.map.get() {
            return Ok(Some(map.clone()));
        }
        let loaded = cache.loaded.notified();
        tokio::pin!(loaded);
        loaded.as_mut().enable();
        if !cache.loading.swap(true, Ordering::AcqRel) {
            let survey = self.clone();
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let cache = &ctx.region_cache;
                match crate::region::load_region(&survey.registry, ctx.region).await {
                    Ok(map) => {
                        tracing::info!(round = %ctx.id, leaf_units = map.units.len(), "round region loaded");
                        let _ = cache.map.set(Arc::new(map));
                        *cache.failure.lock().expect("not poisoned") = None;
                    }
                    Err(e) => {
                        tracing::warn!(round = %ctx.id, error = %e, "loading the round's region failed");
                        *cache.failure.lock().expect("not poisoned") = Some(e);
                    }
                }
                cache.loading.store(false, Ordering::Release);
                cache.loaded.notify_waiters();
            });
        }
        let _ = tokio::time::timeout(wait, loaded).await;
        if let Some(map) = cache.map.get() {
            return Ok(Some(map.clone()));
        }
        match cache.failure.lock().expect("not poisoned").clone() {
            Some(failure) if !cache.loading.load(Ordering::Acquire) => Err(failure.into()),
            _ => Ok(None),
        }
    }

    /// Where a leaf unit lies, if it is one inside the round's region: `Ok(Err(description))`
    /// when it is not, a dependency failure of the registry when that cannot be known yet.
    pub(crate) async fn locate_unit(
        &self,
        ctx: &Arc<RoundContext>,
        unit: DivisionCode,
    ) -> Result<std::result::Result<Ancestors, String>> {
        let map = self.region_map(ctx).await?;
        if let Some(a) = map.get(unit.as_i64()) {
            return Ok(Ok(a));
        }
        if let Some(known) = ctx
            .region_cache
            .extra
            .lock()
            .expect("not poisoned")
            .get(&unit.as_i64())
        {
            return Ok(Ok(*known));
        }
        let checked =
            crate::region::check_unit(&self.registry, unit, ctx.region.map(|r| r.0)).await?;
        // Only confirmed units are remembered: a code the registry does not know yet (or holds
        // elsewhere, or retired) may be imported or moved into the region later, and is asked
        // about again rather than refused until a restart.
        if let Ok(ancestors) = checked {
            let mut extra = ctx.region_cache.extra.lock().expect("not poisoned");
            if extra.len() >= MAX_UNITS_LOOKED_UP {
                extra.clear();
            }
            extra.insert(unit.as_i64(), ancestors);
        }
        Ok(checked)
    }
}
