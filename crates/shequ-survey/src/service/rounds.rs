//! Survey rounds: created as drafts over a published questionnaire version and a region, then
//! opened for responses and closed for good.

use sea_orm::ConnectionTrait;
use shequ_domain::{DivisionCode, DivisionLevel};

use super::Survey;
use super::audit::{CLOSE_ROUND, CREATE_ROUND, OPEN_ROUND};
use crate::error::{Result, SurveyError};
use crate::names::{division_name, new_id, questionnaire_name, round_name};
use crate::store::rows::RoundRecord;
use crate::store::{now_micros, rounds};
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::page::{self, page_size};

pub const DRAFT: &str = "draft";
pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

/// Longest round display name, in characters after trimming.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// A round as a caller asks for it, each field already checked (`grpc/convert.rs`).
#[derive(Debug, Clone)]
pub struct NewRound {
    pub display_name: String,
    pub questionnaire_id: String,
    pub questionnaire_version: i32,
    /// `None`: the whole country.
    pub region: Option<DivisionCode>,
    pub start_time: i64,
    pub end_time: i64,
    pub min_valid_responses: i32,
}

/// The number a listing's page token is bound to for a state filter; the contract's enum values,
/// so tokens stay valid across releases.
fn state_filter_number(state: Option<&str>) -> i32 {
    match state {
        None => 0,
        Some(DRAFT) => 1,
        Some(OPEN) => 2,
        Some(CLOSED) => 3,
        Some(_) => -1,
    }
}

/// A round's region: `None` for the whole country (stored as code 0).
fn region_of(r: &RoundRecord) -> Option<DivisionCode> {
    (r.region_code != 0)
        .then(|| DivisionCode::from_u64(r.region_code as u64).ok())
        .flatten()
}

impl Survey {
    /// Creates a draft round; the caller must hold the whole region in scope, which is checked
    /// after the request is found well formed and before anything it names is looked up.
    pub async fn create_round(
        &self,
        principal: &Principal,
        round: &NewRound,
    ) -> Result<RoundRecord> {
        let region = round.region;
        let questionnaire = round.questionnaire_id.as_str();
        self.authorize_region(principal, region).await?;
        if self
            .get_version(questionnaire, round.questionnaire_version)
            .await
            .is_err()
        {
            return Err(SurveyError::reference_not_found(
                "round.questionnaire_version",
                format!(
                    "`{}` has no published version {}",
                    questionnaire_name(questionnaire),
                    round.questionnaire_version
                ),
            ));
        }
        // An empty region is the whole country: code 0, level 0.
        let (region_code, level) = match region {
            None => (0i64, 0i32),
            Some(region) => {
                let Some(division) = self.registry.division(region).await? else {
                    return Err(SurveyError::reference_not_found(
                        "round.region",
                        format!(
                            "`{}` is not a division in the registry",
                            division_name(region)
                        ),
                    ));
                };
                let Some(level) = DivisionLevel::from_number(i64::from(division.level)) else {
                    return Err(SurveyError::Internal(
                        "registry division without a level".into(),
                    ));
                };
                (region.as_i64(), i32::from(level.number()))
            }
        };
        let id = new_id();
        let now = now_micros();
        let txn = self.begin_write().await?;
        let record = RoundRecord {
            id: id.clone(),
            display_name: round.display_name.clone(),
            questionnaire_id: questionnaire.to_owned(),
            questionnaire_version: round.questionnaire_version,
            region_code,
            region_level: level,
            start_time: round.start_time,
            end_time: round.end_time,
            min_valid_responses: round.min_valid_responses,
            state: DRAFT.to_owned(),
            create_time: now,
            update_time: now,
        };
        rounds::insert(&*txn, &record).await?;
        self.audit(
            &*txn,
            &AuditEntry {
                principal,
                method: CREATE_ROUND,
                resource: round_name(&id),
                division: region,
                action: "created",
                reason: "",
            },
        )
        .await?;
        txn.commit().await?;
        self.audit.committed();
        self.get_round(&id).await
    }

    pub async fn get_round(&self, id: &str) -> Result<RoundRecord> {
        self.find_round(&self.db.conn, id).await
    }

    pub(crate) async fn find_round(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<RoundRecord> {
        rounds::find(conn, id).await?.ok_or_else(|| {
            SurveyError::NotFound(format!("round `{}` does not exist", round_name(id)))
        })
    }

    /// Opens a draft round. Its region starts loading from the registry first, and a round never
    /// opens while the registry cannot be asked which leaf units it covers; a large region (the
    /// whole country) may finish loading after the round opens, and until then requests that need
    /// it are `UNAVAILABLE`.
    pub async fn open_round(&self, principal: &Principal, id: &str) -> Result<RoundRecord> {
        let round = self.get_round(id).await?;
        if round.state != DRAFT {
            return Err(SurveyError::precondition(
                "name",
                format!(
                    "the round is {}; only a draft round can be opened",
                    round.state
                ),
            ));
        }
        let ctx = self.round_context(id).await?;
        self.region_map_within(&ctx, std::time::Duration::from_secs(5))
            .await?;
        self.transition(principal, id, DRAFT, OPEN).await
    }

    /// Closes an open round for good.
    pub async fn close_round(&self, principal: &Principal, id: &str) -> Result<RoundRecord> {
        self.transition(principal, id, OPEN, CLOSED).await
    }

    async fn transition(
        &self,
        principal: &Principal,
        id: &str,
        from: &str,
        to: &str,
    ) -> Result<RoundRecord> {
        let region = self.round_context(id).await?.region.map(|r| r.0);
        let txn = self.begin_write().await?;
        if !rounds::transition(&*txn, id, from, to, now_micros()).await? {
            let round = self.find_round(&*txn, id).await?;
            return Err(SurveyError::precondition(
                "name",
                format!(
                    "the round is {}; only a {from} round can become {to}",
                    round.state
                ),
            ));
        }
        let (method, action) = if to == OPEN {
            (OPEN_ROUND, "opened")
        } else {
            (CLOSE_ROUND, "closed")
        };
        self.audit(
            &*txn,
            &AuditEntry {
                principal,
                method,
                resource: round_name(id),
                division: region,
                action,
                reason: "",
            },
        )
        .await?;
        txn.commit().await?;
        self.audit.committed();
        self.get_round(id).await
    }

    /// One page of rounds in id order, which is creation order, optionally only those in `state`
    /// or over `questionnaire` (an id). A regional principal sees only rounds whose region holds
    /// or lies in its scope, so its pages may be short.
    pub async fn list_rounds(
        &self,
        principal: &Principal,
        state: Option<&'static str>,
        questionnaire: Option<&str>,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<RoundRecord>, String)> {
        let size = page_size(requested_page_size)?;
        let query = format!(
            "rounds {} {}",
            state_filter_number(state),
            questionnaire.unwrap_or_default()
        );
        let after = page::decode(&query, page_token)?.unwrap_or_default();
        let rows = rounds::page(&self.db.conn, &after, state, questionnaire, size + 1).await?;
        let more = rows.len() as u64 > size;
        let mut page = Vec::with_capacity(rows.len());
        for r in rows.iter().take(size as usize) {
            if self.reach(principal, region_of(r)).await?.is_some() {
                page.push(r.clone());
            }
        }
        let next = match (more, rows.get(size as usize - 1)) {
            (true, Some(last)) => page::encode(&query, &last.id),
            _ => String::new(),
        };
        Ok((page, next))
    }
}
