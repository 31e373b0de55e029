//! The facility change log (`registry_facility_changes`): one row per write, with the facility's
//! state after it as a typed, versioned snapshot.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};
use serde::Serialize;

use super::facilities::FacilityRecord;
use super::{INSERT_ROWS, Scope, stmt};
use crate::error::{RegistryError, Result};

/// What a change did to its facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
    Undeleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Undeleted => "undeleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Created, Self::Updated, Self::Deleted, Self::Undeleted]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

pub const CHANGE_COLUMNS: &str = "c.seq, c.facility_id, c.revision, c.kind, c.at, c.actor, c.reason, c.changed_fields, c.snapshot";

/// A change row as stored; [`ChangeRecord::decode`] makes it a [`FacilityChange`].
#[derive(Debug, Clone, FromQueryResult)]
pub struct ChangeRecord {
    pub seq: i64,
    pub facility_id: String,
    pub revision: i64,
    pub kind: String,
    pub at: i64,
    pub actor: String,
    pub reason: String,
    pub changed_fields: String,
    pub snapshot: String,
}

/// One change of a facility, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityChange {
    /// Position in the change log: the feed's cursor.
    pub seq: i64,
    pub facility_id: String,
    pub revision: i64,
    pub kind: ChangeKind,
    /// Microseconds since the epoch.
    pub at: i64,
    pub actor: String,
    pub reason: String,
    /// Top-level writable fields the change touched.
    pub changed_fields: Vec<String>,
    /// The facility as the change left it.
    pub snapshot: FacilityRecord,
}

impl ChangeRecord {
    /// The typed change. A row that does not decode is INTERNAL, its cause logged: history is
    /// never shown with a part silently missing.
    pub fn decode(self) -> Result<FacilityChange> {
        let broken = |what: &str, cause: &dyn std::fmt::Display| {
            RegistryError::Internal(format!(
                "change {} of `facilities/{}`: {what} does not decode: {cause}",
                self.seq, self.facility_id
            ))
        };
        let kind = ChangeKind::parse(&self.kind)
            .ok_or_else(|| broken("the kind", &format!("`{}` is no change kind", self.kind)))?;
        let changed_fields = serde_json::from_str(&self.changed_fields)
            .map_err(|e| broken("the changed fields", &e))?;
        let snapshot = FacilitySnapshot::decode(&self.snapshot)
            .map_err(|e| broken("the snapshot", &e))?
            .into_record();
        Ok(FacilityChange {
            seq: self.seq,
            facility_id: self.facility_id,
            revision: self.revision,
            kind,
            at: self.at,
            actor: self.actor,
            reason: self.reason,
            changed_fields,
            snapshot,
        })
    }
}

/// Appends the change that left facility `record` as it is, at its revision and update time.
pub async fn insert(
    conn: &impl ConnectionTrait,
    record: &FacilityRecord,
    kind: ChangeKind,
    changed_fields: &[impl Serialize],
    actor: &str,
    reason: &str,
) -> Result<()> {
    let snapshot = FacilitySnapshot::of(record).encode()?;
    let changed = encode_fields(changed_fields)?;
    conn.execute_raw(stmt(
        conn.get_database_backend(),
        "INSERT INTO registry_facility_changes (facility_id, revision, kind, at, actor, reason, changed_fields, snapshot, leaf_code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            record.id.clone().into(),
            record.revision.into(),
            kind.as_str().into(),
            record.update_time.into(),
            actor.into(),
            reason.into(),
            changed.into(),
            snapshot.into(),
            record.leaf_code.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Appends the creations of new facilities, each with its own reason, in order, with
/// multi-row statements of [`INSERT_ROWS`].
pub async fn insert_created(
    conn: &impl ConnectionTrait,
    created: &[(&FacilityRecord, &str)],
    changed_fields: &[impl Serialize],
    actor: &str,
) -> Result<()> {
    let changed = encode_fields(changed_fields)?;
    for chunk in created.chunks(INSERT_ROWS) {
        let mut values = Vec::with_capacity(chunk.len() * 9);
        let mut groups = Vec::with_capacity(chunk.len());
        for (record, reason) in chunk {
            let snapshot = FacilitySnapshot::of(record).encode()?;
            let base = values.len();
            values.extend([
                Value::from(record.id.clone()),
                Value::from(record.revision),
                Value::from(ChangeKind::Created.as_str()),
                Value::from(record.update_time),
                Value::from(actor.to_owned()),
                Value::from((*reason).to_owned()),
                Value::from(changed.clone()),
                Value::from(snapshot),
                Value::from(record.leaf_code),
            ]);
            let placeholders: Vec<String> = (1..=9).map(|k| format!("${}", base + k)).collect();
            groups.push(format!("({})", placeholders.join(", ")));
        }
        conn.execute_raw(stmt(
            conn.get_database_backend(),
            format!(
                "INSERT INTO registry_facility_changes (facility_id, revision, kind, at, actor, reason, changed_fields, snapshot, leaf_code) VALUES {}",
                groups.join(", ")
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

/// At most `limit` changes of facility `id` after revision `after`, oldest first.
pub async fn of_facility(
    conn: &impl ConnectionTrait,
    id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<ChangeRecord>, DbErr> {
    ChangeRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {CHANGE_COLUMNS} FROM registry_facility_changes c WHERE c.facility_id = $1 AND c.revision > $2 ORDER BY c.revision LIMIT $3"),
        [id.into(), after.into(), limit.into()],
    ))
    .all(conn)
    .await
}

/// At most `limit` changes after sequence number `after`, oldest first; with a scope, only those
/// of facilities under that division.
pub async fn after(
    conn: &impl ConnectionTrait,
    after: i64,
    limit: i64,
    scope: Option<Scope>,
) -> Result<Vec<ChangeRecord>, DbErr> {
    let mut values: Vec<Value> = vec![after.into(), limit.into()];
    let filter = match scope {
        Some((column, code)) => {
            values.push(code.as_i64().into());
            format!(" AND c.leaf_code IN (SELECT code FROM registry_divisions WHERE {column} = $3)")
        }
        None => String::new(),
    };
    ChangeRecord::find_by_statement(stmt(
        conn.get_database_backend(),
        format!("SELECT {CHANGE_COLUMNS} FROM registry_facility_changes c WHERE c.seq > $1{filter} ORDER BY c.seq LIMIT $2"),
        values,
    ))
    .all(conn)
    .await
}

/// The sequence number of the last change; 0 before the first.
pub async fn last_seq(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Last {
        cursor: i64,
    }
    Ok(Last::find_by_statement(stmt(
        conn.get_database_backend(),
        "SELECT coalesce(max(seq), 0) AS cursor FROM registry_facility_changes",
        [],
    ))
    .one(conn)
    .await?
    .map(|s| s.cursor)
    .unwrap_or(0))
}

/// The stored text of a changed-field list: JSON.
fn encode_fields(fields: &[impl Serialize]) -> Result<String> {
    serde_json::to_string(fields).map_err(|e| RegistryError::Internal(e.to_string()))
}

/// The snapshot layout this release writes. Rows written before snapshots carried a version have
/// the same fields and no `version`: they are version 1. A new layout takes the next number and a
/// decoding branch of its own, so every stored row keeps decoding.
pub const SNAPSHOT_VERSION: u32 = 1;

/// A facility as the change log keeps it: the facility row's serde form with a layout version.
/// The row's fields are only ever added, each with a default, so every stored snapshot keeps
/// decoding; renaming or removing one takes a new version and a decoding branch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilitySnapshot {
    pub version: u32,
    #[serde(flatten)]
    pub record: FacilityRecord,
}

/// Why a stored snapshot cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a facility snapshot: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("snapshot version {0} is newer than this release reads ({SNAPSHOT_VERSION})")]
    UnknownVersion(u32),
}

impl FacilitySnapshot {
    /// The snapshot of a facility row, at the current version.
    pub fn of(r: &FacilityRecord) -> Self {
        Self {
            version: SNAPSHOT_VERSION,
            record: r.clone(),
        }
    }

    /// The stored text: JSON.
    pub fn encode(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| RegistryError::Internal(e.to_string()))
    }

    /// Reads stored text of any version this release knows; one without a `version` is
    /// version 1. A field the row does not know is an error, never dropped.
    pub fn decode(text: &str) -> Result<Self, SnapshotError> {
        let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)?;
        let version = match fields.remove("version") {
            None => 1,
            Some(v) => serde_json::from_value(v)?,
        };
        if version > SNAPSHOT_VERSION {
            return Err(SnapshotError::UnknownVersion(version));
        }
        let record = serde_json::from_value(serde_json::Value::Object(fields))?;
        Ok(Self { version, record })
    }

    /// The facility row the snapshot holds.
    pub fn into_record(self) -> FacilityRecord {
        self.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot exactly as releases before the version field wrote it (`serde_json` of the
    /// facility row), taken from the upgrade fixture `tests/fixtures/upgrade/01-07908d9`.
    const UNVERSIONED: &str = r#"{"id":"01a2495a-37bd-70e9-8b33-c6c1dde7b61b","leaf_code":110101011001,"display_name":"前门社区服务站 1","address":"前门大街 2 号","latitude":39.93,"longitude":116.41,"status":"in_service","total_floor_area_m2":500.0,"activity_area_m2":300.0,"opening_hours":"[[1,480,1020],[2,480,1020],[3,480,1020],[4,480,1020],[5,480,1020],[6,480,1020],[7,480,1020]]","services":",elderly_care,health,","online_24h_services":",government_services,","self_service_terminals":4,"community_workers":9,"social_workers":2,"operator_name":"示范社会工作服务中心","operator_uscc":"91350100M000100Y43","min_daily_open_minutes":540,"revision":2,"create_time":1796526979005075,"update_time":1796526979018691,"delete_time":null,"leaf_kind":"community"}"#;

    fn stored_row() -> FacilityRecord {
        FacilityRecord {
            id: "01a2495a-37bd-70e9-8b33-c6c1dde7b61b".into(),
            leaf_code: 110_101_011_001,
            display_name: "前门社区服务站 1".into(),
            address: "前门大街 2 号".into(),
            latitude: Some(39.93),
            longitude: Some(116.41),
            status: "in_service".into(),
            total_floor_area_m2: 500.0,
            activity_area_m2: 300.0,
            opening_hours: "[[1,480,1020],[2,480,1020],[3,480,1020],[4,480,1020],[5,480,1020],[6,480,1020],[7,480,1020]]".into(),
            services: ",elderly_care,health,".into(),
            online_24h_services: ",government_services,".into(),
            self_service_terminals: 4,
            community_workers: 9,
            social_workers: 2,
            operator_name: "示范社会工作服务中心".into(),
            operator_uscc: Some("91350100M000100Y43".into()),
            min_daily_open_minutes: 540,
            revision: 2,
            create_time: 1_796_526_979_005_075,
            update_time: 1_796_526_979_018_691,
            delete_time: None,
            leaf_kind: Some("community".into()),
            // Fields added since this snapshot was written take their defaults.
            ..FacilityRecord::default()
        }
    }

    #[test]
    fn a_snapshot_written_before_versions_decodes_as_version_1() {
        let snapshot = FacilitySnapshot::decode(UNVERSIONED).unwrap();
        assert_eq!(snapshot.version, 1);
        assert_eq!(snapshot.into_record(), stored_row());
    }

    #[test]
    fn a_snapshot_reads_back_what_was_written() {
        let text = FacilitySnapshot::of(&stored_row()).encode().unwrap();
        assert!(text.starts_with(r#"{"version":1,"#), "{text}");
        let snapshot = FacilitySnapshot::decode(&text).unwrap();
        assert_eq!(snapshot.into_record(), stored_row());
    }

    #[test]
    fn a_snapshot_that_does_not_decode_is_an_error() {
        for text in [
            "",
            "null",
            r#"{"id":"x"}"#,
            &UNVERSIONED.replace(
                r#""leaf_code":110101011001"#,
                r#""leaf_code":"110101011001""#,
            ),
            &UNVERSIONED.replace(r#"{"id""#, r#"{"floors":3,"id""#),
        ] {
            let err = FacilitySnapshot::decode(text).unwrap_err();
            assert!(matches!(err, SnapshotError::Malformed(_)), "{text}: {err}");
        }
        let newer = UNVERSIONED.replace(r#"{"id""#, r#"{"version":2,"id""#);
        let err = FacilitySnapshot::decode(&newer).unwrap_err();
        assert!(matches!(err, SnapshotError::UnknownVersion(2)), "{err}");
    }

    #[test]
    fn a_change_row_with_a_broken_snapshot_is_internal() {
        let row = ChangeRecord {
            seq: 7,
            facility_id: "f".into(),
            revision: 1,
            kind: "created".into(),
            at: 0,
            actor: "a".into(),
            reason: String::new(),
            changed_fields: "[]".into(),
            snapshot: "{".into(),
        };
        let err = row.clone().decode().unwrap_err();
        assert!(
            matches!(&err, RegistryError::Internal(m) if m.contains("change 7 of `facilities/f`: the snapshot")),
            "{err}"
        );
        let decoded = ChangeRecord {
            snapshot: UNVERSIONED.into(),
            ..row
        }
        .decode()
        .unwrap();
        assert_eq!(decoded.kind, ChangeKind::Created);
        assert_eq!(decoded.snapshot, stored_row());
    }
}
