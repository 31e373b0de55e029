//! `monitoring_evaluations` and the writing of `monitoring_evaluation_results`: an evaluation is
//! stored with its rows in one transaction and never changes; retention deletes whole
//! evaluations, result rows first.

use sea_orm::{ConnectionTrait, Value};

use super::Store;
use super::rows::{EVALUATION_COLUMNS, EvaluationRecord, ResultRecord};
use crate::error::Result;

impl<C: ConnectionTrait> Store<'_, C> {
    pub async fn insert_evaluation(&self, r: &EvaluationRecord) -> Result<()> {
        self.execute(
            format!(
                "INSERT INTO monitoring_evaluations ({EVALUATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            [
                r.id.clone().into(),
                r.plan_id.clone().into(),
                r.evaluation_date.clone().into(),
                r.create_time.into(),
                r.trigger_kind.clone().into(),
                r.actor.clone().into(),
                r.registry_cursor.clone().into(),
                r.registry_vintage.clone().into(),
                r.survey_round.clone().into(),
                r.divisions.into(),
                r.leaf_units.into(),
                r.indicators.clone().into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Stores `rows` of evaluation `evaluation_id` with one statement.
    pub async fn insert_results(&self, evaluation_id: &str, rows: Vec<ResultRecord>) -> Result<()> {
        let n = rows.len();
        let mut values: Vec<Value> = Vec::with_capacity(n * 5);
        for row in rows {
            values.push(evaluation_id.into());
            values.push(row.division_code.into());
            values.push(row.level.into());
            values.push(row.parent_code.into());
            values.push(row.results.into());
        }
        self.execute(
            format!(
                "INSERT INTO monitoring_evaluation_results (evaluation_id, division_code, level, parent_code, results) VALUES {}",
                shequ_platform::sql::value_rows(n, 5)
            ),
            values,
        )
        .await?;
        Ok(())
    }

    /// The ids of plan `plan_id`'s evaluations, newest first.
    pub async fn evaluation_ids_newest_first(&self, plan_id: &str) -> Result<Vec<String>> {
        Ok(self
            .conn
            .query_all_raw(self.stmt(
                "SELECT id FROM monitoring_evaluations WHERE plan_id = $1 ORDER BY create_time DESC, id DESC",
                [plan_id.into()],
            ))
            .await?
            .iter()
            .map(|row| row.try_get::<String>("", "id"))
            .collect::<std::result::Result<_, _>>()?)
    }

    /// Deletes evaluation `id` with its result rows.
    pub async fn delete_evaluation(&self, id: &str) -> Result<()> {
        for sql in [
            "DELETE FROM monitoring_evaluation_results WHERE evaluation_id = $1",
            "DELETE FROM monitoring_evaluations WHERE id = $1",
        ] {
            self.execute(sql, [id.into()]).await?;
        }
        Ok(())
    }

    /// Evaluation `id` of plan `plan_id`, if stored.
    pub async fn evaluation(&self, plan_id: &str, id: &str) -> Result<Option<EvaluationRecord>> {
        self.one::<EvaluationRecord>(
            format!(
                "SELECT {EVALUATION_COLUMNS} FROM monitoring_evaluations WHERE id = $1 AND plan_id = $2"
            ),
            [id.into(), plan_id.into()],
        )
        .await
    }

    /// At most `limit` evaluations of plan `plan_id` made before (`before_time`, `before_id`),
    /// newest first.
    pub async fn evaluations_before(
        &self,
        plan_id: &str,
        before_time: i64,
        before_id: &str,
        limit: u64,
    ) -> Result<Vec<EvaluationRecord>> {
        self.all::<EvaluationRecord>(
            format!(
                "SELECT {EVALUATION_COLUMNS} FROM monitoring_evaluations WHERE plan_id = $1 AND (create_time < $2 OR (create_time = $3 AND id < $4)) ORDER BY create_time DESC, id DESC LIMIT $5"
            ),
            [
                plan_id.into(),
                before_time.into(),
                before_time.into(),
                before_id.into(),
                (limit as i64).into(),
            ],
        )
        .await
    }

    /// When the last scheduled evaluation of plan `plan_id` was made.
    pub async fn last_scheduled(&self, plan_id: &str) -> Result<Option<i64>> {
        let row = self
            .conn
            .query_one_raw(self.stmt(
                "SELECT max(create_time) AS t FROM monitoring_evaluations WHERE plan_id = $1 AND trigger_kind = 'schedule'",
                [plan_id.into()],
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<i64>>("", "t"))
            .transpose()?
            .flatten())
    }
}
