//! The survey's logic, independent of gRPC: questionnaires, rounds, responses, results and exports.

pub mod export;
pub mod questionnaires;
pub mod responses;
pub mod results;
pub mod rounds;

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::DbBackend;
use shequ_domain::{DivisionCode, DivisionLevel};
use shequ_platform::Database;
use shequ_platform::database::WriteTxn;

use crate::config::SurveySettings;
use crate::error::{Result, SurveyError};
use crate::model::QuestionDef;
use crate::region::{Ancestors, RegionCache, RegionMap, RegistryLink};

/// Most leaf units looked up one by one that a round remembers.
const MAX_UNITS_LOOKED_UP: usize = 100_000;

/// Shared state of one survey service instance; cheap to clone.
#[derive(Clone)]
pub struct Survey {
    pub(crate) db: Database,
    pub(crate) settings: SurveySettings,
    pub(crate) registry: RegistryLink,
    /// The fixed part of each round seen, with what is known of its region.
    rounds: Arc<std::sync::Mutex<HashMap<String, Arc<RoundContext>>>>,
}

/// What never changes about a round once created: its questionnaire version, region and window.
#[derive(Debug)]
pub struct RoundContext {
    pub id: String,
    pub region: DivisionCode,
    pub region_level: DivisionLevel,
    pub start_time: i64,
    pub end_time: i64,
    pub min_valid_responses: i32,
    pub questions: Vec<QuestionDef>,
    pub(crate) region_cache: RegionCache,
}

impl Survey {
    pub fn new(db: Database, settings: SurveySettings) -> anyhow::Result<Self> {
        let registry = RegistryLink::new(&settings.registry_endpoint, settings.registry_timeout())?;
        Ok(Self {
            db,
            settings,
            registry,
            rounds: Arc::default(),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.db.backend()
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
        let ctx = Arc::new(RoundContext {
            id: round.id.clone(),
            region: DivisionCode::from_u64(round.region_code as u64)
                .map_err(|e| SurveyError::Internal(e.to_string()))?,
            region_level: DivisionLevel::from_number(i64::from(round.region_level))
                .ok_or_else(|| SurveyError::Internal("stored region level".into()))?,
            start_time: round.start_time,
            end_time: round.end_time,
            min_valid_responses: round.min_valid_responses,
            questions,
            region_cache: RegionCache::default(),
        });
        Ok(self
            .rounds
            .lock()
            .expect("not poisoned")
            .entry(round_id.to_owned())
            .or_insert(ctx)
            .clone())
    }

    /// The round's region map, loaded from the registry on first use.
    pub(crate) async fn region_map(&self, ctx: &RoundContext) -> Result<Arc<RegionMap>> {
        ctx.region_cache
            .map
            .get_or_try_init(|| async {
                let map = self.registry.load_region(ctx.region, ctx.region_level).await?;
                tracing::info!(round = %ctx.id, leaf_units = map.units.len(), "round region loaded");
                Ok::<_, SurveyError>(Arc::new(map))
            })
            .await
            .cloned()
    }

    /// Where a leaf unit lies, if it is one inside the round's region: `Ok(Err(description))`
    /// when it is not, `RegistryUnavailable` when that cannot be known yet.
    pub(crate) async fn locate_unit(
        &self,
        ctx: &RoundContext,
        unit: DivisionCode,
    ) -> Result<std::result::Result<Ancestors, String>> {
        let map = self.region_map(ctx).await?;
        if let Some(a) = map.units.get(&unit.as_i64()) {
            return Ok(Ok(*a));
        }
        if let Some(known) = ctx
            .region_cache
            .extra
            .lock()
            .expect("not poisoned")
            .get(&unit.as_i64())
        {
            return Ok(known.clone());
        }
        let checked = self.registry.check_unit(unit, ctx.region).await?;
        let mut extra = ctx.region_cache.extra.lock().expect("not poisoned");
        // Codes outside the region are remembered too; bound what a stream of bad codes can hold.
        if extra.len() >= MAX_UNITS_LOOKED_UP {
            extra.clear();
        }
        extra.insert(unit.as_i64(), checked.clone());
        Ok(checked)
    }
}
