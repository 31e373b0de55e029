//! The rule of every RPC, one table per service keyed by full gRPC method name: the roles that may
//! call it, which the auth layer checks (refusing a method missing from its service's table), and
//! its regional rule, which the services check on the resource (`service/access.rs`). A test
//! checks every method of every Shequ service descriptor has an entry, and another that
//! docs/authorization.md shows the table as [`markdown`] renders it.

use std::collections::HashMap;

use shequ_proto::methods::{audit, monitoring, registry, survey};

use super::Role;
use super::Role::*;
use Region::*;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, authenticated or not: health and reflection only.
    Open,
    /// An authenticated principal holding at least one of these roles.
    AnyOf(&'static [Role]),
}

/// Where a principal's divisions must lie for a method to act: the regional half of its rule.
/// The services check it in their `service/access.rs`, on the resource's division and before
/// anything else, so for a regional principal a resource outside the scope is PERMISSION_DENIED
/// whether or not it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Any scope: the method reads or writes something national by nature (questionnaires, the
    /// built-in indicators, the service's audit trail).
    Unscoped,
    /// National scope only.
    National,
    /// The division the method acts on lies in scope (some division of the scope is it or one
    /// of its ancestors); naming the whole country needs national scope.
    Division,
    /// The resource's region overlaps the scope: it lies in the scope or holds part of it.
    Overlap,
    /// The resource's whole region lies in the scope; a national one needs national scope.
    Whole,
    /// A listing under a division: whole when the division is in scope, kept to the scope when
    /// it lies above the scope (the country included), refused beside it.
    Under,
    /// A listing of everything: it keeps what the scope may read and never refuses.
    Filtered,
}

impl Region {
    pub const ALL: [Region; 7] = [
        Self::Unscoped,
        Self::National,
        Self::Division,
        Self::Overlap,
        Self::Whole,
        Self::Under,
        Self::Filtered,
    ];

    /// The rule's name in the documentation's table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unscoped => "unscoped",
            Self::National => "national",
            Self::Division => "division",
            Self::Overlap => "overlap",
            Self::Whole => "whole",
            Self::Under => "under",
            Self::Filtered => "filtered",
        }
    }

    /// What the rule means, for the documentation's legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Unscoped => "any scope: the resource is national by nature",
            Self::National => "national scope only",
            Self::Division => {
                "the division acted on lies in scope; the whole country needs national scope"
            }
            Self::Overlap => "the resource's region lies in the scope or holds part of it",
            Self::Whole => {
                "the resource's whole region lies in scope; a national one needs national scope"
            }
            Self::Under => {
                "a listing under a division in scope is whole, above the scope it keeps what lies in scope, beside it is refused"
            }
            Self::Filtered => "a listing of everything keeps what the scope may read",
        }
    }

    /// Whether a principal with the method's role but outside the resource's scope is refused
    /// (PERMISSION_DENIED) rather than answered.
    pub fn refuses_outside(self) -> bool {
        !matches!(self, Self::Unscoped | Self::Filtered)
    }
}

/// The whole rule of one RPC: the roles that may call it and where their divisions must lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Full gRPC method name, `/package.Service/Method`.
    pub method: &'static str,
    pub access: Access,
    pub region: Region,
    /// What the regional rule is checked on, in words.
    pub on: &'static str,
}

const fn rule(method: &'static str, access: Access, region: Region, on: &'static str) -> Rule {
    Rule {
        method,
        access,
        region,
        on,
    }
}

const REGISTRY_READ: Access = Access::AnyOf(&[RegistryReader, RegistryEditor, Service]);
const REGISTRY_WRITE: Access = Access::AnyOf(&[RegistryEditor]);

/// `shequ.registry.v1.DivisionService` and `FacilityService`.
pub const REGISTRY: &[Rule] = &[
    rule(
        registry::division_service::IMPORT_DIVISIONS,
        REGISTRY_WRITE,
        National,
        "the hierarchy",
    ),
    rule(
        registry::division_service::GET_DIVISION,
        REGISTRY_READ,
        Division,
        "the division",
    ),
    rule(
        registry::division_service::LIST_DIVISIONS,
        REGISTRY_READ,
        Under,
        "`parent` (empty: the country)",
    ),
    rule(
        registry::division_service::LIST_DIVISION_ANCESTORS,
        REGISTRY_READ,
        Division,
        "the division",
    ),
    rule(
        registry::division_service::SEARCH_DIVISIONS,
        REGISTRY_READ,
        Under,
        "`parent` (empty: the country)",
    ),
    rule(
        registry::division_service::COUNT_LEAF_UNITS,
        REGISTRY_READ,
        Division,
        "the division (empty: the country)",
    ),
    rule(
        registry::division_service::UPDATE_DIVISION,
        REGISTRY_WRITE,
        Division,
        "the leaf unit",
    ),
    rule(
        registry::facility_service::CREATE_FACILITY,
        REGISTRY_WRITE,
        Division,
        "the new facility's leaf unit",
    ),
    rule(
        registry::facility_service::BATCH_CREATE_FACILITIES,
        REGISTRY_WRITE,
        Division,
        "`parent` and every facility's leaf unit",
    ),
    rule(
        registry::facility_service::GET_FACILITY,
        REGISTRY_READ,
        Division,
        "the facility's leaf unit",
    ),
    rule(
        registry::facility_service::UPDATE_FACILITY,
        REGISTRY_WRITE,
        Division,
        "the facility's leaf unit, and the new one when it moves",
    ),
    rule(
        registry::facility_service::DELETE_FACILITY,
        REGISTRY_WRITE,
        Division,
        "the facility's leaf unit",
    ),
    rule(
        registry::facility_service::UNDELETE_FACILITY,
        REGISTRY_WRITE,
        Division,
        "the facility's leaf unit",
    ),
    rule(
        registry::facility_service::LIST_FACILITIES,
        REGISTRY_READ,
        Under,
        "`parent`",
    ),
    rule(
        registry::facility_service::LIST_FACILITY_REVISIONS,
        REGISTRY_READ,
        Division,
        "the facility's leaf unit",
    ),
    rule(
        registry::facility_service::STREAM_LEAF_UNIT_FACTS,
        REGISTRY_READ,
        Division,
        "`parent` (empty: the country)",
    ),
    rule(
        registry::facility_service::WATCH_FACILITY_CHANGES,
        REGISTRY_READ,
        Division,
        "`parent` (empty: the country)",
    ),
];

const SURVEY_DESIGN: Access = Access::AnyOf(&[SurveyCollector]);
const SURVEY_READ: Access = Access::AnyOf(&[SurveyReader, SurveyCollector, Service]);

/// `shequ.survey.v1.QuestionnaireService`, `RoundService` and `ResponseService`.
pub const SURVEY: &[Rule] = &[
    rule(
        survey::questionnaire_service::CREATE_QUESTIONNAIRE,
        SURVEY_DESIGN,
        Unscoped,
        "questionnaires are national",
    ),
    rule(
        survey::questionnaire_service::GET_QUESTIONNAIRE,
        SURVEY_READ,
        Unscoped,
        "questionnaires are national",
    ),
    rule(
        survey::questionnaire_service::LIST_QUESTIONNAIRES,
        SURVEY_READ,
        Unscoped,
        "questionnaires are national",
    ),
    rule(
        survey::questionnaire_service::UPDATE_QUESTIONNAIRE,
        SURVEY_DESIGN,
        Unscoped,
        "questionnaires are national",
    ),
    rule(
        survey::questionnaire_service::PUBLISH_QUESTIONNAIRE,
        SURVEY_DESIGN,
        Unscoped,
        "questionnaires are national",
    ),
    rule(
        survey::round_service::CREATE_ROUND,
        SURVEY_DESIGN,
        Whole,
        "the round's region (empty: the country)",
    ),
    rule(
        survey::round_service::GET_ROUND,
        SURVEY_READ,
        Overlap,
        "the round's region",
    ),
    rule(
        survey::round_service::LIST_ROUNDS,
        SURVEY_READ,
        Filtered,
        "rounds whose region overlaps the scope",
    ),
    rule(
        survey::round_service::OPEN_ROUND,
        SURVEY_DESIGN,
        Whole,
        "the round's region",
    ),
    rule(
        survey::round_service::CLOSE_ROUND,
        SURVEY_DESIGN,
        Whole,
        "the round's region",
    ),
    rule(
        survey::round_service::GET_ROUND_RESULTS,
        SURVEY_READ,
        Division,
        "`division` (empty: the round's region)",
    ),
    rule(
        survey::round_service::GET_ROUND_COVERAGE,
        SURVEY_READ,
        Division,
        "`division` (empty: the round's region)",
    ),
    rule(
        survey::round_service::STREAM_ROUND_FACTS,
        Access::AnyOf(&[Service, SurveyReader]),
        National,
        "every leaf unit of the round",
    ),
    rule(
        survey::round_service::EXPORT_RESPONSES,
        SURVEY_READ,
        Whole,
        "the round's region (its raw data: refused above the scope, not filtered)",
    ),
    rule(
        survey::response_service::SUBMIT_RESPONSE,
        SURVEY_DESIGN,
        Division,
        "the response's leaf unit",
    ),
    rule(
        survey::response_service::BULK_SUBMIT_RESPONSES,
        SURVEY_DESIGN,
        Division,
        "each response's leaf unit, refused in that response's result",
    ),
    rule(
        survey::response_service::GET_RESPONSE,
        SURVEY_READ,
        Division,
        "the response's leaf unit",
    ),
    rule(
        survey::response_service::INVALIDATE_RESPONSE,
        SURVEY_DESIGN,
        Division,
        "the response's leaf unit",
    ),
];

const PLAN_WRITE: Access = Access::AnyOf(&[PlanOfficer]);
const PLAN_READ: Access = Access::AnyOf(&[PlanReader, PlanOfficer, Service]);

/// `shequ.monitoring.v1.IndicatorService`, `PlanService` and `EvaluationService`.
pub const MONITORING: &[Rule] = &[
    rule(
        monitoring::indicator_service::LIST_INDICATORS,
        PLAN_READ,
        Filtered,
        "the indicators of plans overlapping the scope (`plan` must overlap it)",
    ),
    rule(
        monitoring::indicator_service::GET_INDICATOR,
        PLAN_READ,
        Unscoped,
        "the built-in catalogue",
    ),
    rule(
        monitoring::indicator_service::REPORT_VALUE,
        PLAN_WRITE,
        Division,
        "the value's division",
    ),
    rule(
        monitoring::indicator_service::LIST_REPORTED_VALUE_HISTORY,
        PLAN_READ,
        Division,
        "`division`",
    ),
    rule(
        monitoring::plan_service::CREATE_PLAN,
        PLAN_WRITE,
        Whole,
        "the plan's division (none: the country)",
    ),
    rule(
        monitoring::plan_service::GET_PLAN,
        PLAN_READ,
        Overlap,
        "the plan's division",
    ),
    rule(
        monitoring::plan_service::LIST_PLANS,
        PLAN_READ,
        Filtered,
        "plans overlapping the scope",
    ),
    rule(
        monitoring::plan_service::LOAD_NATIONAL_PLAN,
        PLAN_WRITE,
        National,
        "the national plan",
    ),
    rule(
        monitoring::plan_service::LOAD_PLAN_FILE,
        PLAN_WRITE,
        Whole,
        "the plan's division (none: the country)",
    ),
    rule(
        monitoring::plan_service::CHECK_PLAN_ALIGNMENT,
        PLAN_READ,
        Overlap,
        "the plan's division",
    ),
    rule(
        monitoring::plan_service::REVISE_TARGET,
        PLAN_WRITE,
        Whole,
        "the plan's division (none: the country)",
    ),
    rule(
        monitoring::plan_service::LIST_TARGET_REVISIONS,
        PLAN_READ,
        Overlap,
        "the plan's division",
    ),
    rule(
        monitoring::evaluation_service::EVALUATE_PLAN,
        PLAN_WRITE,
        Whole,
        "the plan's division (none: the country)",
    ),
    rule(
        monitoring::evaluation_service::GET_EVALUATION,
        PLAN_READ,
        Overlap,
        "the plan's division",
    ),
    rule(
        monitoring::evaluation_service::LIST_EVALUATIONS,
        PLAN_READ,
        Overlap,
        "the plan's division",
    ),
    rule(
        monitoring::evaluation_service::GET_DIVISION_RESULT,
        PLAN_READ,
        Division,
        "`division` by the evaluation's parent links (empty: its root)",
    ),
    rule(
        monitoring::evaluation_service::LIST_RESULT_RECORDS,
        PLAN_READ,
        Division,
        "`division` by the evaluation's parent links (empty: its root)",
    ),
    rule(
        monitoring::evaluation_service::LIST_CHILD_RESULTS,
        PLAN_READ,
        Division,
        "`division` by the evaluation's parent links (empty: its root)",
    ),
    rule(
        monitoring::evaluation_service::COMPARE_EVALUATIONS,
        PLAN_READ,
        Division,
        "`division` in both evaluations (empty: their root)",
    ),
    rule(
        monitoring::evaluation_service::RENDER_REPORT,
        PLAN_READ,
        Division,
        "`division` by the evaluation's parent links (empty: its root)",
    ),
];

/// `shequ.audit.v1.AuditService`, which every service serves.
pub const AUDIT: &[Rule] = &[rule(
    audit::audit_service::STREAM_AUDIT_RECORDS,
    Access::AnyOf(&[Auditor]),
    Unscoped,
    "the answering service's whole trail",
)];

/// Every table, in the order the documentation lists them.
pub const TABLES: [&[Rule]; 4] = [REGISTRY, SURVEY, MONITORING, AUDIT];

/// The rule of a Shequ method by its full name, whichever service serves it.
pub fn rule_of(method: &str) -> Option<&'static Rule> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|r| r.method == method)
}

/// Health and reflection, open on every service so probes and tools need no credentials.
const OPEN_SERVICES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// The access table of one server: the open services plus the tables it was given.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    methods: HashMap<&'static str, Access>,
}

impl Policy {
    pub fn new(tables: &[&[Rule]]) -> Self {
        let mut methods = HashMap::new();
        for table in tables {
            for rule in *table {
                methods.insert(rule.method, rule.access);
            }
        }
        Self { methods }
    }

    /// The registry's table with the audit stream.
    pub fn registry() -> Self {
        Self::new(&[REGISTRY, AUDIT])
    }

    /// The survey service's table with the audit stream.
    pub fn survey() -> Self {
        Self::new(&[SURVEY, AUDIT])
    }

    /// The monitoring service's table with the audit stream.
    pub fn monitoring() -> Self {
        Self::new(&[MONITORING, AUDIT])
    }

    /// Every Shequ service's methods: for a server that hosts several, or none named yet.
    pub fn all() -> Self {
        Self::new(&[REGISTRY, SURVEY, MONITORING, AUDIT])
    }

    /// The access rule of a request path; `None` for a method not in the table, which is refused.
    pub fn access(&self, path: &str) -> Option<Access> {
        if OPEN_SERVICES.iter().any(|prefix| path.starts_with(prefix)) {
            return Some(Access::Open);
        }
        self.methods.get(path).copied()
    }
}

/// The line before the table in docs/authorization.md.
pub const MARKDOWN_BEGIN: &str =
    "<!-- rules: rendered by `shequ_platform::auth::policy::markdown`; a test keeps them equal -->";
/// The line after it.
pub const MARKDOWN_END: &str = "<!-- end of rules -->";

/// Every rule as docs/authorization.md shows it: a legend of the regional rules, then one row per RPC.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("| Regional rule | Meaning |\n| --- | --- |\n");
    for region in Region::ALL {
        out.push_str(&format!("| {} | {} |\n", region.as_str(), region.meaning()));
    }
    out.push_str("\n| RPC | Roles | Regional rule | Checked on |\n| --- | --- | --- | --- |\n");
    for rule in TABLES.iter().flat_map(|t| t.iter()) {
        let roles = match rule.access {
            Access::Open => "anyone".to_owned(),
            Access::AnyOf(roles) => roles
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            rule.method.trim_start_matches("/shequ."),
            roles,
            rule.region.as_str(),
            rule.on
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::*;

    /// Every method of every service in the Shequ descriptor set, as `/package.Service/Method`.
    fn described_methods() -> Vec<String> {
        let set = FileDescriptorSet::decode(shequ_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut methods = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    methods.push(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
        methods
    }

    #[test]
    fn every_described_method_has_an_entry() {
        let methods = described_methods();
        let packages = ["shequ.registry.", "shequ.survey.", "shequ.monitoring."];
        for package in packages {
            assert!(
                methods
                    .iter()
                    .any(|m| m.starts_with(&format!("/{package}"))),
                "no method of {package} described"
            );
        }
        let policy = Policy::all();
        let missing: Vec<&String> = methods
            .iter()
            .filter(|m| policy.access(m).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "methods without an access rule: {missing:?}"
        );
        for method in &methods {
            assert_ne!(
                policy.access(method),
                Some(Access::Open),
                "{method} is open"
            );
        }
    }

    #[test]
    fn each_table_covers_its_own_services_and_nothing_else() {
        let methods = described_methods();
        for (policy, prefix) in [
            (Policy::registry(), "/shequ.registry."),
            (Policy::survey(), "/shequ.survey."),
            (Policy::monitoring(), "/shequ.monitoring."),
        ] {
            for method in &methods {
                let own = method.starts_with(prefix) || method.starts_with("/shequ.audit.");
                assert_eq!(policy.access(method).is_some(), own, "{prefix}: {method}");
            }
        }
        let all: usize = [REGISTRY, SURVEY, MONITORING, AUDIT]
            .iter()
            .map(|t| t.len())
            .sum();
        assert_eq!(all, methods.len(), "a table names a method no service has");
    }

    #[test]
    fn every_method_has_one_rule_with_roles() {
        let mut seen = std::collections::HashSet::new();
        for rule in TABLES.iter().flat_map(|t| t.iter()) {
            assert!(seen.insert(rule.method), "{} listed twice", rule.method);
            assert_eq!(rule_of(rule.method), Some(rule));
            assert!(
                matches!(rule.access, Access::AnyOf(roles) if !roles.is_empty()),
                "{} names no role",
                rule.method
            );
            assert!(
                !rule.on.is_empty(),
                "{} says nothing it is checked on",
                rule.method
            );
        }
        assert_eq!(rule_of("/shequ.registry.v1.FacilityService/Nope"), None);
    }

    #[test]
    fn the_authorization_document_shows_the_rules() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/authorization.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = text
            .split_once(MARKDOWN_BEGIN)
            .and_then(|(_, rest)| rest.split_once(MARKDOWN_END))
            .map(|(table, _)| table.trim().to_owned())
            .unwrap_or_default();
        let table = markdown();
        assert!(
            shown == table.trim(),
            "docs/authorization.md must hold, between `{MARKDOWN_BEGIN}` and \
             `{MARKDOWN_END}`, the rules as `policy::markdown` renders them:\n\n{table}"
        );
    }

    #[test]
    fn health_and_reflection_are_open_and_unknown_methods_are_not_listed() {
        let policy = Policy::registry();
        assert_eq!(
            policy.access("/grpc.health.v1.Health/Check"),
            Some(Access::Open)
        );
        assert_eq!(
            policy.access("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Some(Access::Open)
        );
        assert_eq!(
            policy.access("/shequ.registry.v1.FacilityService/Nope"),
            None
        );
        assert_eq!(policy.access("/grpc.health.v1.Healthx/Check"), None);
    }
}
