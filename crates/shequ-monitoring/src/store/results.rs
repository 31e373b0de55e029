//! Reading `monitoring_evaluation_results`: one division is one primary-key lookup, its children
//! one indexed range on `(evaluation_id, parent_code)`.

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::rows::ResultRecord;
use crate::error::Result;

impl<C: ConnectionTrait> Store<'_, C> {
    /// The row of `division` in evaluation `evaluation_id`.
    pub async fn result(&self, evaluation_id: &str, division: i64) -> Result<Option<ResultRecord>> {
        self.one::<ResultRecord>(
            "SELECT division_code, level, parent_code, results FROM monitoring_evaluation_results WHERE evaluation_id = $1 AND division_code = $2",
            [evaluation_id.into(), division.into()],
        )
        .await
    }

    /// The row of the evaluation's root (the plan's scope), the one without parent.
    pub async fn root_result(&self, evaluation_id: &str) -> Result<Option<ResultRecord>> {
        self.one::<ResultRecord>(
            "SELECT division_code, level, parent_code, results FROM monitoring_evaluation_results WHERE evaluation_id = $1 AND parent_code IS NULL",
            [evaluation_id.into()],
        )
        .await
    }

    /// The rows of the children of `parent`, by code.
    pub async fn child_results(
        &self,
        evaluation_id: &str,
        parent: i64,
    ) -> Result<Vec<ResultRecord>> {
        self.all::<ResultRecord>(
            "SELECT division_code, level, parent_code, results FROM monitoring_evaluation_results WHERE evaluation_id = $1 AND parent_code = $2 ORDER BY division_code",
            [evaluation_id.into(), parent.into()],
        )
        .await
    }

    /// At most `limit` rows of the children of `parent` with codes after `after`, by code.
    pub async fn child_results_after(
        &self,
        evaluation_id: &str,
        parent: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ResultRecord>> {
        self.all::<ResultRecord>(
            "SELECT division_code, level, parent_code, results FROM monitoring_evaluation_results WHERE evaluation_id = $1 AND parent_code = $2 AND division_code > $3 ORDER BY division_code LIMIT $4",
            [
                evaluation_id.into(),
                parent.into(),
                after.into(),
                (limit as i64).into(),
            ],
        )
        .await
    }

    /// The parent of `division` in evaluation `evaluation_id`; `None` for the root, or for a
    /// division the evaluation does not hold.
    pub async fn result_parent(&self, evaluation_id: &str, division: i64) -> Result<Option<i64>> {
        #[derive(FromQueryResult)]
        struct ParentOf {
            parent_code: Option<i64>,
        }
        let row = self.one::<ParentOf>(
            "SELECT parent_code FROM monitoring_evaluation_results WHERE evaluation_id = $1 AND division_code = $2",
            [evaluation_id.into(), division.into()],
        )
        .await?;
        Ok(row.and_then(|r| r.parent_code))
    }

    /// Every division above the leaf units in evaluation `evaluation_id`, with its parent.
    pub async fn branches(&self, evaluation_id: &str) -> Result<Vec<(i64, Option<i64>)>> {
        #[derive(FromQueryResult)]
        struct Branch {
            division_code: i64,
            parent_code: Option<i64>,
        }
        Ok(self
            .all::<Branch>(
                "SELECT division_code, parent_code FROM monitoring_evaluation_results WHERE evaluation_id = $1 AND level < 5",
                [evaluation_id.into()],
            )
            .await?
            .into_iter()
            .map(|b| (b.division_code, b.parent_code))
            .collect())
    }

    /// At most `limit` rows of the leaf units under `parent` with codes after `after`, by code.
    pub async fn leaf_results_after(
        &self,
        evaluation_id: &str,
        parent: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ResultRecord>> {
        self.all::<ResultRecord>(
            "SELECT division_code, level, parent_code, results FROM monitoring_evaluation_results WHERE evaluation_id = $1 AND parent_code = $2 AND level = 5 AND division_code > $3 ORDER BY division_code LIMIT $4",
            [
                evaluation_id.into(),
                parent.into(),
                after.into(),
                (limit as i64).into(),
            ],
        )
        .await
    }
}
