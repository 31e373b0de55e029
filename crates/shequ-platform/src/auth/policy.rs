//! The roles every RPC requires, one table per service keyed by full gRPC method name. The auth
//! layer refuses a method missing from its service's table, and a test checks every method of
//! every Shequ service descriptor has an entry.

use std::collections::HashMap;

use super::Role;
use super::Role::*;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, authenticated or not: health and reflection only.
    Open,
    /// An authenticated principal holding at least one of these roles.
    AnyOf(&'static [Role]),
}

const REGISTRY_READ: Access = Access::AnyOf(&[RegistryReader, RegistryEditor, Service]);
const REGISTRY_WRITE: Access = Access::AnyOf(&[RegistryEditor]);

/// `shequ.registry.v1.DivisionService` and `FacilityService`.
pub const REGISTRY: &[(&str, Access)] = &[
    (
        "/shequ.registry.v1.DivisionService/ImportDivisions",
        REGISTRY_WRITE,
    ),
    (
        "/shequ.registry.v1.DivisionService/GetDivision",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.DivisionService/ListDivisions",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.DivisionService/ListDivisionAncestors",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.DivisionService/SearchDivisions",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.DivisionService/CountLeafUnits",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.DivisionService/UpdateDivision",
        REGISTRY_WRITE,
    ),
    (
        "/shequ.registry.v1.FacilityService/CreateFacility",
        REGISTRY_WRITE,
    ),
    (
        "/shequ.registry.v1.FacilityService/BatchCreateFacilities",
        REGISTRY_WRITE,
    ),
    (
        "/shequ.registry.v1.FacilityService/GetFacility",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.FacilityService/UpdateFacility",
        REGISTRY_WRITE,
    ),
    (
        "/shequ.registry.v1.FacilityService/DeleteFacility",
        REGISTRY_WRITE,
    ),
    (
        "/shequ.registry.v1.FacilityService/UndeleteFacility",
        REGISTRY_WRITE,
    ),
    (
        "/shequ.registry.v1.FacilityService/ListFacilities",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.FacilityService/ListFacilityRevisions",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.FacilityService/StreamLeafUnitFacts",
        REGISTRY_READ,
    ),
    (
        "/shequ.registry.v1.FacilityService/WatchFacilityChanges",
        REGISTRY_READ,
    ),
];

const SURVEY_DESIGN: Access = Access::AnyOf(&[SurveyCollector]);
const SURVEY_READ: Access = Access::AnyOf(&[SurveyReader, SurveyCollector, Service]);

/// `shequ.survey.v1.QuestionnaireService`, `RoundService` and `ResponseService`.
pub const SURVEY: &[(&str, Access)] = &[
    (
        "/shequ.survey.v1.QuestionnaireService/CreateQuestionnaire",
        SURVEY_DESIGN,
    ),
    (
        "/shequ.survey.v1.QuestionnaireService/GetQuestionnaire",
        SURVEY_READ,
    ),
    (
        "/shequ.survey.v1.QuestionnaireService/ListQuestionnaires",
        SURVEY_READ,
    ),
    (
        "/shequ.survey.v1.QuestionnaireService/UpdateQuestionnaire",
        SURVEY_DESIGN,
    ),
    (
        "/shequ.survey.v1.QuestionnaireService/PublishQuestionnaire",
        SURVEY_DESIGN,
    ),
    ("/shequ.survey.v1.RoundService/CreateRound", SURVEY_DESIGN),
    ("/shequ.survey.v1.RoundService/GetRound", SURVEY_READ),
    ("/shequ.survey.v1.RoundService/ListRounds", SURVEY_READ),
    ("/shequ.survey.v1.RoundService/OpenRound", SURVEY_DESIGN),
    ("/shequ.survey.v1.RoundService/CloseRound", SURVEY_DESIGN),
    ("/shequ.survey.v1.RoundService/GetRoundResults", SURVEY_READ),
    (
        "/shequ.survey.v1.RoundService/GetRoundCoverage",
        SURVEY_READ,
    ),
    (
        "/shequ.survey.v1.RoundService/StreamRoundFacts",
        Access::AnyOf(&[Service, SurveyReader]),
    ),
    ("/shequ.survey.v1.RoundService/ExportResponses", SURVEY_READ),
    (
        "/shequ.survey.v1.ResponseService/SubmitResponse",
        SURVEY_DESIGN,
    ),
    (
        "/shequ.survey.v1.ResponseService/BulkSubmitResponses",
        SURVEY_DESIGN,
    ),
    ("/shequ.survey.v1.ResponseService/GetResponse", SURVEY_READ),
    (
        "/shequ.survey.v1.ResponseService/InvalidateResponse",
        SURVEY_DESIGN,
    ),
];

const PLAN_WRITE: Access = Access::AnyOf(&[PlanOfficer]);
const PLAN_READ: Access = Access::AnyOf(&[PlanReader, PlanOfficer, Service]);

/// `shequ.monitoring.v1.IndicatorService`, `PlanService` and `EvaluationService`.
pub const MONITORING: &[(&str, Access)] = &[
    (
        "/shequ.monitoring.v1.IndicatorService/ListIndicators",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.IndicatorService/GetIndicator",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.IndicatorService/ReportValue",
        PLAN_WRITE,
    ),
    (
        "/shequ.monitoring.v1.IndicatorService/ListReportedValueHistory",
        PLAN_READ,
    ),
    ("/shequ.monitoring.v1.PlanService/CreatePlan", PLAN_WRITE),
    ("/shequ.monitoring.v1.PlanService/GetPlan", PLAN_READ),
    ("/shequ.monitoring.v1.PlanService/ListPlans", PLAN_READ),
    (
        "/shequ.monitoring.v1.PlanService/LoadNationalPlan",
        PLAN_WRITE,
    ),
    ("/shequ.monitoring.v1.PlanService/LoadPlanFile", PLAN_WRITE),
    (
        "/shequ.monitoring.v1.PlanService/CheckPlanAlignment",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.EvaluationService/EvaluatePlan",
        PLAN_WRITE,
    ),
    (
        "/shequ.monitoring.v1.EvaluationService/GetEvaluation",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.EvaluationService/ListEvaluations",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.EvaluationService/GetDivisionResult",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.EvaluationService/ListChildResults",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.EvaluationService/CompareEvaluations",
        PLAN_READ,
    ),
    (
        "/shequ.monitoring.v1.EvaluationService/RenderReport",
        PLAN_READ,
    ),
];

/// `shequ.audit.v1.AuditService`, which every service serves.
pub const AUDIT: &[(&str, Access)] = &[(
    "/shequ.audit.v1.AuditService/StreamAuditRecords",
    Access::AnyOf(&[Auditor]),
)];

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
    pub fn new(tables: &[&[(&'static str, Access)]]) -> Self {
        let mut methods = HashMap::new();
        for table in tables {
            for (method, access) in *table {
                methods.insert(*method, *access);
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
