//! Survey rounds: created as drafts over a published questionnaire version and a region, then
//! opened for responses and closed for good.

use sea_orm::{ConnectionTrait, FromQueryResult};
use shequ_domain::{TextRule, Violations};
use shequ_proto::common::v1 as common;
use shequ_proto::names::{division_name, parse_optional_division_name};
use shequ_proto::survey::v1 as pb;

use super::Survey;
use super::audit::{CLOSE_ROUND, CREATE_ROUND, OPEN_ROUND};
use crate::error::{Result, SurveyError};
use crate::names::{
    micros, new_id, parse_questionnaire_name, questionnaire_name, round_name, timestamp,
};
use crate::store::rows::{ROUND_COLUMNS, RoundRecord};
use crate::store::{now_micros, stmt};
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::page::{self, page_size};

pub const DRAFT: &str = "draft";
pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

/// Longest round display name, in characters after trimming.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

pub fn state_to_pb(state: &str) -> pb::RoundState {
    match state {
        DRAFT => pb::RoundState::Draft,
        OPEN => pb::RoundState::Open,
        CLOSED => pb::RoundState::Closed,
        _ => pb::RoundState::Unspecified,
    }
}

pub fn round_to_pb(r: &RoundRecord) -> pb::Round {
    pb::Round {
        name: round_name(&r.id),
        display_name: r.display_name.clone(),
        questionnaire: questionnaire_name(&r.questionnaire_id),
        questionnaire_version: r.questionnaire_version,
        // Region code 0 is the whole country, named by an empty region.
        region: shequ_domain::DivisionCode::from_u64(r.region_code as u64)
            .map(division_name)
            .unwrap_or_default(),
        start_time: Some(timestamp(r.start_time)),
        end_time: Some(timestamp(r.end_time)),
        min_valid_responses: r.min_valid_responses,
        state: state_to_pb(&r.state) as i32,
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
    }
}

/// A round's region: `None` for the whole country (stored as code 0).
fn region_of(r: &RoundRecord) -> Option<shequ_domain::DivisionCode> {
    (r.region_code != 0)
        .then(|| shequ_domain::DivisionCode::from_u64(r.region_code as u64).ok())
        .flatten()
}

impl Survey {
    /// Creates a draft round; the caller must hold the whole region in scope, which is checked
    /// after the request is found well formed and before anything it names is looked up.
    pub async fn create_round(
        &self,
        principal: &Principal,
        round: &pb::Round,
    ) -> Result<RoundRecord> {
        let mut v = Violations::new();
        let display_name = TextRule::required(MAX_DISPLAY_NAME_CHARS).apply(
            &mut v,
            "round.display_name",
            &round.display_name,
        );
        let questionnaire = parse_questionnaire_name("round.questionnaire", &round.questionnaire)
            .map_err(|e| v.push(e.field, e.description))
            .ok();
        if round.questionnaire_version < 1 {
            v.push(
                "round.questionnaire_version",
                "must name a published version, 1 or more",
            );
        }
        let region = parse_optional_division_name("round.region", &round.region)
            .map_err(|e| v.push(e.field, e.description))
            .ok();
        let start = round.start_time.as_ref().and_then(micros);
        let end = round.end_time.as_ref().and_then(micros);
        if start.is_none() {
            v.push("round.start_time", "is required");
        }
        if end.is_none() {
            v.push("round.end_time", "is required");
        }
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            v.push("round.end_time", "must be after `start_time`");
        }
        if round.min_valid_responses < 1 {
            v.push("round.min_valid_responses", "must be at least 1");
        }
        let (Some(questionnaire), Some(region), Some(start), Some(end), true) =
            (questionnaire, region, start, end, v.is_empty())
        else {
            return Err(SurveyError::Invalid(v));
        };
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
                    round.questionnaire, round.questionnaire_version
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
                let level = common::DivisionLevel::try_from(division.level)
                    .unwrap_or(common::DivisionLevel::Unspecified)
                    as i32;
                if level == 0 {
                    return Err(SurveyError::Internal(
                        "registry division without a level".into(),
                    ));
                }
                (region.as_i64(), level)
            }
        };
        let id = new_id();
        let now = now_micros();
        let txn = self.begin_write().await?;
        txn.execute_raw(stmt(
                self.backend(),
                format!("INSERT INTO survey_rounds ({ROUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"),
                [
                    id.clone().into(),
                    display_name.into(),
                    questionnaire.into(),
                    round.questionnaire_version.into(),
                    region_code.into(),
                    level.into(),
                    start.into(),
                    end.into(),
                    round.min_valid_responses.into(),
                    DRAFT.into(),
                    now.into(),
                ],
            ))
            .await?;
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
        RoundRecord::find_by_statement(stmt(
            self.backend(),
            format!("SELECT {ROUND_COLUMNS} FROM survey_rounds WHERE id = $1"),
            [id.into()],
        ))
        .one(conn)
        .await?
        .ok_or_else(|| SurveyError::NotFound(format!("round `{}` does not exist", round_name(id))))
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
        let changed = txn
            .execute_raw(stmt(
                self.backend(),
                "UPDATE survey_rounds SET state = $3, update_time = $4 WHERE id = $1 AND state = $2",
                [id.into(), from.into(), to.into(), now_micros().into()],
            ))
            .await?
            .rows_affected();
        if changed == 0 {
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
        state: pb::RoundState,
        questionnaire: Option<&str>,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<pb::Round>, String)> {
        let size = page_size(requested_page_size)?;
        let query = format!(
            "rounds {} {}",
            state as i32,
            questionnaire.unwrap_or_default()
        );
        let after = page::decode(&query, page_token)?.unwrap_or_default();
        let mut sql = format!("SELECT {ROUND_COLUMNS} FROM survey_rounds WHERE id > $1");
        let mut values: Vec<sea_orm::Value> = vec![after.into()];
        let wanted = match state {
            pb::RoundState::Unspecified => None,
            pb::RoundState::Draft => Some(DRAFT),
            pb::RoundState::Open => Some(OPEN),
            pb::RoundState::Closed => Some(CLOSED),
        };
        if let Some(s) = wanted {
            values.push(s.into());
            sql.push_str(&format!(" AND state = ${}", values.len()));
        }
        if let Some(q) = questionnaire {
            values.push(q.into());
            sql.push_str(&format!(" AND questionnaire_id = ${}", values.len()));
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", size + 1));
        let rows = RoundRecord::find_by_statement(stmt(self.backend(), sql, values))
            .all(&self.db.conn)
            .await?;
        let more = rows.len() as u64 > size;
        let mut page: Vec<pb::Round> = Vec::with_capacity(rows.len());
        for r in rows.iter().take(size as usize) {
            if self.reach(principal, region_of(r)).await?.is_some() {
                page.push(round_to_pb(r));
            }
        }
        let next = match (more, rows.get(size as usize - 1)) {
            (true, Some(last)) => page::encode(&query, &last.id),
            _ => String::new(),
        };
        Ok((page, next))
    }
}
