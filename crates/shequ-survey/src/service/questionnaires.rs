//! Questionnaires: an editable draft and published versions that never change.

use sea_orm::ConnectionTrait;

use super::Survey;
use super::audit::{CREATE_QUESTIONNAIRE, PUBLISH_QUESTIONNAIRE, UPDATE_QUESTIONNAIRE};
use crate::error::{Result, SurveyError};
use crate::model::QuestionDef;
use crate::names::{new_id, questionnaire_name};
use crate::store::now_micros;
use crate::store::questionnaires;
use crate::store::rows::{QuestionnaireRecord, VersionRecord};
use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;
use shequ_platform::page::{self, page_size};

/// Longest questionnaire title, in characters after trimming.
pub const MAX_TITLE_CHARS: usize = 200;

/// A questionnaire as read: its draft (`version` 0) or a published version.
#[derive(Debug, Clone)]
pub struct Questionnaire {
    pub id: String,
    pub title: String,
    pub questions: Vec<QuestionDef>,
    pub version: i32,
    pub latest_version: i32,
    /// Microseconds: the draft's last change, or a version's publication.
    pub update_time: i64,
}

/// The writable part of a questionnaire, checked field by field (`grpc/convert.rs`).
#[derive(Debug, Clone)]
pub struct QuestionnaireDraft {
    pub title: String,
    pub questions: Vec<QuestionDef>,
}

fn to_json(questions: &[QuestionDef]) -> Result<String> {
    serde_json::to_string(questions).map_err(|e| SurveyError::Internal(e.to_string()))
}

fn from_json(questions: &str) -> Result<Vec<QuestionDef>> {
    serde_json::from_str(questions)
        .map_err(|e| SurveyError::Internal(format!("stored questions: {e}")))
}

fn draft_of(r: &QuestionnaireRecord) -> Result<Questionnaire> {
    Ok(Questionnaire {
        id: r.id.clone(),
        title: r.title.clone(),
        questions: from_json(&r.questions)?,
        version: 0,
        latest_version: r.latest_version,
        update_time: r.update_time,
    })
}

fn version_of(r: &VersionRecord, latest: i32) -> Result<Questionnaire> {
    Ok(Questionnaire {
        id: r.questionnaire_id.clone(),
        title: r.title.clone(),
        questions: from_json(&r.questions)?,
        version: r.version,
        latest_version: latest,
        update_time: r.publish_time,
    })
}

fn not_found(id: &str) -> SurveyError {
    SurveyError::NotFound(format!(
        "questionnaire `{}` does not exist",
        questionnaire_name(id)
    ))
}

impl Survey {
    /// A questionnaire record of the trail: questionnaires are national resources.
    fn questionnaire_entry<'a>(
        principal: &'a Principal,
        method: &'static str,
        id: &str,
        action: &'static str,
        reason: &'a str,
    ) -> AuditEntry<'a> {
        AuditEntry {
            principal,
            method,
            resource: questionnaire_name(id),
            division: None,
            action,
            reason,
        }
    }

    pub async fn create_questionnaire(
        &self,
        principal: &Principal,
        draft: &QuestionnaireDraft,
    ) -> Result<Questionnaire> {
        let QuestionnaireDraft { title, questions } = draft.clone();
        let id = new_id();
        let now = now_micros();
        let txn = self.begin_write().await?;
        questionnaires::insert(&*txn, &id, title, to_json(&questions)?, now).await?;
        let entry = Self::questionnaire_entry(principal, CREATE_QUESTIONNAIRE, &id, "created", "");
        self.audit(&*txn, &entry).await?;
        txn.commit().await?;
        self.audit.committed();
        self.get_questionnaire(&id, 0).await
    }

    /// The draft; with `lock`, held until the transaction ends (PostgreSQL), so two publishers
    /// take turns.
    async fn draft(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
        lock: bool,
    ) -> Result<QuestionnaireRecord> {
        questionnaires::draft(conn, id, lock)
            .await?
            .ok_or_else(|| not_found(id))
    }

    pub(crate) async fn get_version(&self, id: &str, version: i32) -> Result<VersionRecord> {
        questionnaires::version(&self.db.conn, id, version)
            .await?
            .ok_or_else(|| {
                SurveyError::NotFound(format!(
                    "questionnaire `{}` has no published version {version}",
                    questionnaire_name(id)
                ))
            })
    }

    /// The draft (`version` 0) or a published version.
    pub async fn get_questionnaire(&self, id: &str, version: i32) -> Result<Questionnaire> {
        if version < 0 {
            return Err(SurveyError::invalid("version", "must not be negative"));
        }
        let draft = self.draft(&self.db.conn, id, false).await?;
        if version == 0 {
            return draft_of(&draft);
        }
        version_of(&self.get_version(id, version).await?, draft.latest_version)
    }

    /// Replaces the draft's title and questions.
    pub async fn update_questionnaire(
        &self,
        principal: &Principal,
        id: &str,
        draft: &QuestionnaireDraft,
    ) -> Result<Questionnaire> {
        let QuestionnaireDraft { title, questions } = draft.clone();
        let txn = self.begin_write().await?;
        let updated =
            questionnaires::update_draft(&*txn, id, title, to_json(&questions)?, now_micros())
                .await?;
        if !updated {
            return Err(not_found(id));
        }
        let entry = Self::questionnaire_entry(principal, UPDATE_QUESTIONNAIRE, id, "updated", "");
        self.audit(&*txn, &entry).await?;
        txn.commit().await?;
        self.audit.committed();
        self.get_questionnaire(id, 0).await
    }

    /// Freezes the draft as the next version.
    pub async fn publish_questionnaire(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Questionnaire> {
        let txn = self.begin_write().await?;
        let draft = self.draft(&*txn, id, true).await?;
        if from_json(&draft.questions)?.is_empty() {
            return Err(SurveyError::precondition(
                "name",
                "the draft has no questions; add some before publishing",
            ));
        }
        let version = draft.latest_version + 1;
        let now = now_micros();
        questionnaires::publish(&*txn, &draft, version, now).await?;
        let published = format!("published as version {version}");
        let entry = Self::questionnaire_entry(
            principal,
            PUBLISH_QUESTIONNAIRE,
            id,
            "published",
            &published,
        );
        self.audit(&*txn, &entry).await?;
        txn.commit().await?;
        self.audit.committed();
        self.get_questionnaire(id, version).await
    }

    /// One page of questionnaires (their drafts) in id order, which is creation order;
    /// `published` keeps only the published (`Some(true)`) or the never published.
    pub async fn list_questionnaires(
        &self,
        published: Option<bool>,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Questionnaire>, String)> {
        let size = page_size(requested_page_size)?;
        // The contract's state numbers, so tokens stay valid across releases.
        let state = match published {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        };
        let query = format!("questionnaires {state}");
        let after = page::decode(&query, page_token)?.unwrap_or_default();
        let rows = questionnaires::page(&self.db.conn, &after, published, size + 1).await?;
        let more = rows.len() as u64 > size;
        let page: Vec<&QuestionnaireRecord> = rows.iter().take(size as usize).collect();
        let next = match (more, page.last()) {
            (true, Some(last)) => page::encode(&query, &last.id),
            _ => String::new(),
        };
        let questionnaires = page.into_iter().map(draft_of).collect::<Result<Vec<_>>>()?;
        Ok((questionnaires, next))
    }
}
