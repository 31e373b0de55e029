//! Robustness of every RPC: one table with an entry per method of every Shequ service, each a
//! valid request (which must succeed) and invalid ones (each with the code it must get and, for
//! INVALID_ARGUMENT, the field the `google.rpc.BadRequest` details name). The services run once
//! per test, in development mode, on the database the environment selects; after a method's
//! invalid calls no service's audit trail has moved (every write records there in its own
//! transaction, so nothing was stored), and then its valid requests still succeed.
//!
//! Adding an RPC: add a function returning its [`Cases`] and a line in [`TABLE`].

use prost::Message;
use shequ_platform::status::field_violations;
use shequ_proto::audit::v1 as audit;
use shequ_proto::common::v1 as common;
use shequ_proto::monitoring::v1 as plan;
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_system_tests::rpc::{self, Messages, Server, code_of};
use shequ_system_tests::suite::*;
use shequ_testkit::fixtures::{self, SAMPLE};
use tonic::Code;

/// A method's short name (`Service/Method`) and the function giving its cases.
type Entry = (&'static str, fn(&Seed) -> Cases);

/// Every RPC and its cases. The test below fails naming any described method missing here.
const TABLE: &[Entry] = &[
    ("DivisionService/ImportDivisions", import_divisions),
    ("DivisionService/GetDivision", get_division),
    ("DivisionService/ListDivisions", list_divisions),
    (
        "DivisionService/ListDivisionAncestors",
        list_division_ancestors,
    ),
    ("DivisionService/SearchDivisions", search_divisions),
    ("DivisionService/CountLeafUnits", count_leaf_units),
    ("DivisionService/UpdateDivision", update_division),
    ("FacilityService/CreateFacility", create_facility),
    (
        "FacilityService/BatchCreateFacilities",
        batch_create_facilities,
    ),
    ("FacilityService/GetFacility", get_facility),
    ("FacilityService/UpdateFacility", update_facility),
    ("FacilityService/DeleteFacility", delete_facility),
    ("FacilityService/UndeleteFacility", undelete_facility),
    ("FacilityService/ListFacilities", list_facilities),
    (
        "FacilityService/ListFacilityRevisions",
        list_facility_revisions,
    ),
    (
        "FacilityService/StreamLeafUnitFacts",
        stream_leaf_unit_facts,
    ),
    (
        "FacilityService/WatchFacilityChanges",
        watch_facility_changes,
    ),
    (
        "QuestionnaireService/CreateQuestionnaire",
        create_questionnaire,
    ),
    ("QuestionnaireService/GetQuestionnaire", get_questionnaire),
    (
        "QuestionnaireService/ListQuestionnaires",
        list_questionnaires,
    ),
    (
        "QuestionnaireService/UpdateQuestionnaire",
        update_questionnaire,
    ),
    (
        "QuestionnaireService/PublishQuestionnaire",
        publish_questionnaire,
    ),
    ("RoundService/CreateRound", create_round),
    ("RoundService/GetRound", get_round),
    ("RoundService/ListRounds", list_rounds),
    ("RoundService/OpenRound", open_round),
    ("RoundService/CloseRound", close_round),
    ("RoundService/GetRoundResults", get_round_results),
    ("RoundService/GetRoundCoverage", get_round_coverage),
    ("RoundService/StreamRoundFacts", stream_round_facts),
    ("RoundService/ExportResponses", export_responses),
    ("ResponseService/SubmitResponse", submit_response),
    ("ResponseService/BulkSubmitResponses", bulk_submit_responses),
    ("ResponseService/GetResponse", get_response),
    ("ResponseService/InvalidateResponse", invalidate_response),
    ("IndicatorService/ListIndicators", list_indicators),
    ("IndicatorService/GetIndicator", get_indicator),
    ("IndicatorService/ReportValue", report_value),
    (
        "IndicatorService/ListReportedValueHistory",
        list_reported_value_history,
    ),
    ("PlanService/CreatePlan", create_plan),
    ("PlanService/GetPlan", get_plan),
    ("PlanService/ListPlans", list_plans),
    ("PlanService/LoadNationalPlan", load_national_plan),
    ("PlanService/LoadPlanFile", load_plan_file),
    ("PlanService/CheckPlanAlignment", check_plan_alignment),
    ("PlanService/ReviseTarget", revise_target),
    ("PlanService/ListTargetRevisions", list_target_revisions),
    ("EvaluationService/EvaluatePlan", evaluate_plan),
    ("EvaluationService/GetEvaluation", get_evaluation),
    ("EvaluationService/ListEvaluations", list_evaluations),
    ("EvaluationService/GetDivisionResult", get_division_result),
    ("EvaluationService/ListResultRecords", list_result_records),
    ("EvaluationService/ListChildResults", list_child_results),
    ("EvaluationService/CompareEvaluations", compare_evaluations),
    ("EvaluationService/RenderReport", render_report),
    // Served by all three services; the cases run against each.
    ("AuditService/StreamAuditRecords", stream_audit_records),
];

// ---- the registry ----

fn import_divisions(_: &Seed) -> Cases {
    let provinces = registry::ImportDivisionsRequest {
        vintage: "2023".into(),
        file: registry::DivisionFile::Provinces as i32,
        data: "code,name\n11,北京市\n".as_bytes().to_vec(),
        ..Default::default()
    };
    let one = |change: fn(&mut registry::ImportDivisionsRequest)| [with(&provinces, change)];
    let later = with(&provinces, |r| r.vintage = "2024".into());
    Cases::new()
        // The same data again changes nothing, but the import is recorded.
        .valid_stream(&fixtures::import_requests(&SAMPLE, "2023", 64 * 1024))
        .writes()
        .invalid_stream(
            "no message",
            &[] as &[registry::ImportDivisionsRequest],
            "vintage",
        )
        .invalid_stream("unspecified file", &one(|r| r.file = 0), "file")
        .invalid_stream("out-of-range file", &one(|r| r.file = 99), "file")
        .invalid_stream("no vintage", &one(|r| r.vintage.clear()), "vintage")
        .invalid_stream(
            "another vintage later",
            &[provinces.clone(), later],
            "vintage",
        )
        .invalid_stream(
            "a code that is not one",
            &one(|r| r.data = "code,name\n1x,北京市\n".as_bytes().to_vec()),
            "provinces.csv:2",
        )
        .invalid_stream(
            "gzip that does not inflate",
            &one(|r| r.data = vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4]),
            "data",
        )
}

fn get_division(_: &Seed) -> Cases {
    let get = |name: &str| registry::GetDivisionRequest { name: name.into() };
    Cases::new()
        .valid(&get(COMMUNITY))
        .valid(&get(DONGCHENG))
        .invalid("empty name", &get(""), "name")
        .invalid("no collection", &get("110101"), "name")
        .invalid("letters", &get("divisions/11ab"), "name")
        .invalid("seven digits", &get("divisions/1101011"), "name")
        .fails("unknown division", &get(UNKNOWN_DIVISION), Code::NotFound)
}

fn list_divisions(w: &Seed) -> Cases {
    let good = registry::ListDivisionsRequest {
        parent: DONGCHENG.into(),
        page_size: 10,
        ..Default::default()
    };
    let next = registry::ListDivisionsRequest {
        page_size: 1,
        page_token: w.next_pages.divisions.clone(),
        ..good.clone()
    };
    Cases::new()
        .valid(&good)
        .valid(&with(&good, |r| r.parent.clear()))
        .valid(&with(&good, |r| r.page_size = i32::MAX))
        .valid(&next)
        .invalid(
            "malformed parent",
            &with(&good, |r| r.parent = "divisions/x".into()),
            "parent",
        )
        .invalid(
            "negative page size",
            &with(&good, |r| r.page_size = -1),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &with(&good, |r| r.page_token = "x".into()),
            "page_token",
        )
        .invalid(
            "another parent's page token",
            &with(&next, |r| r.parent = STREET.into()),
            "page_token",
        )
        .fails(
            "unknown parent",
            &with(&good, |r| r.parent = UNKNOWN_DIVISION.into()),
            Code::NotFound,
        )
}

fn list_division_ancestors(_: &Seed) -> Cases {
    let list = |name: &str| registry::ListDivisionAncestorsRequest { name: name.into() };
    Cases::new()
        .valid(&list(COMMUNITY))
        .invalid("empty name", &list(""), "name")
        .invalid("malformed name", &list("divisions/"), "name")
        .fails("unknown division", &list(UNKNOWN_DIVISION), Code::NotFound)
}

fn search_divisions(w: &Seed) -> Cases {
    let good = registry::SearchDivisionsRequest {
        query: "社区".into(),
        parent: DONGCHENG.into(),
        page_size: 10,
        ..Default::default()
    };
    let next = registry::SearchDivisionsRequest {
        parent: String::new(),
        page_size: 1,
        page_token: w.next_pages.search.clone(),
        ..good.clone()
    };
    Cases::new()
        .valid(&good)
        .valid(&with(&good, |r| {
            r.level = common::DivisionLevel::Township as i32;
            r.page_size = i32::MAX;
        }))
        .valid(&next)
        .invalid("empty query", &with(&good, |r| r.query.clear()), "query")
        .invalid(
            "malformed parent",
            &with(&good, |r| r.parent = "divisions/1".into()),
            "parent",
        )
        .invalid(
            "out-of-range level",
            &with(&good, |r| r.level = 99),
            "level",
        )
        .invalid(
            "negative page size",
            &with(&good, |r| r.page_size = -5),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &with(&good, |r| r.page_token = "x".into()),
            "page_token",
        )
        .invalid(
            "another query's page token",
            &with(&next, |r| r.query = "街道".into()),
            "page_token",
        )
        .fails(
            "unknown parent",
            &with(&good, |r| r.parent = UNKNOWN_DIVISION.into()),
            Code::NotFound,
        )
}

fn count_leaf_units(_: &Seed) -> Cases {
    let count = |name: &str| registry::CountLeafUnitsRequest { name: name.into() };
    Cases::new()
        .valid(&count(DONGCHENG))
        .valid(&count(""))
        .invalid("malformed name", &count("divisions/abc"), "name")
        .fails("unknown division", &count(UNKNOWN_DIVISION), Code::NotFound)
}

fn update_division(_: &Seed) -> Cases {
    let good = registry::UpdateDivisionRequest {
        division: Some(registry::Division {
            name: COMMUNITY.into(),
            leaf_unit_kind: common::LeafUnitKind::Community as i32,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["leaf_unit_kind".into()],
        }),
    };
    let division = |change: fn(&mut registry::Division)| {
        with(&good, |r| change(r.division.as_mut().expect("set")))
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid(
            "no division",
            &with(&good, |r| r.division = None),
            "division.name",
        )
        .invalid(
            "malformed name",
            &division(|d| d.name = "divisions/".into()),
            "division.name",
        )
        .invalid(
            "no update mask",
            &with(&good, |r| r.update_mask = None),
            "update_mask",
        )
        .invalid(
            "a field that cannot be written",
            &with(&good, |r| r.update_mask = Some(mask(&["display_name"]))),
            "update_mask",
        )
        .invalid(
            "unspecified kind",
            &division(|d| d.leaf_unit_kind = 0),
            "division.leaf_unit_kind",
        )
        .invalid(
            "out-of-range kind",
            &division(|d| d.leaf_unit_kind = 99),
            "division.leaf_unit_kind",
        )
        .invalid(
            "not a leaf unit",
            &division(|d| d.name = STREET.into()),
            "division.name",
        )
        .fails(
            "unknown division",
            &division(|d| d.name = UNKNOWN_LEAF_UNIT.into()),
            Code::NotFound,
        )
}

fn create_facility(_: &Seed) -> Cases {
    let good = registry::CreateFacilityRequest {
        facility: Some(fixtures::facility(COMMUNITY)),
        request_id: "robustness-create".into(),
        reason: "新建".into(),
    };
    let facility = |change: fn(&mut registry::Facility)| {
        with(&good, |r| change(r.facility.as_mut().expect("set")))
    };
    let interval = |day, open_minute, close_minute| registry::OpeningInterval {
        day,
        open_minute,
        close_minute,
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid(
            "no facility",
            &with(&good, |r| r.facility = None),
            "facility",
        )
        .invalid(
            "empty display name",
            &facility(|f| f.display_name.clear()),
            "facility.display_name",
        )
        .invalid(
            "malformed leaf unit",
            &facility(|f| f.leaf_unit = "110101001001".into()),
            "facility.leaf_unit",
        )
        .invalid(
            "a township as leaf unit",
            &facility(|f| f.leaf_unit = STREET.into()),
            "facility.leaf_unit",
        )
        .invalid(
            "unspecified status",
            &facility(|f| f.status = 0),
            "facility.status",
        )
        .invalid(
            "out-of-range status",
            &facility(|f| f.status = 99),
            "facility.status",
        )
        .invalid(
            "out-of-range service",
            &facility(|f| f.services = vec![99]),
            "facility.services[0]",
        )
        .invalid(
            "a service twice",
            &facility(|f| f.services = vec![6, 6]),
            "facility.services[1]",
        )
        .invalid(
            "out-of-range day",
            &with(&good, |r| {
                r.facility.as_mut().expect("set").opening_hours = vec![interval(9, 480, 1020)];
            }),
            "facility.opening_hours[0].day",
        )
        .invalid(
            "closing before opening",
            &with(&good, |r| {
                r.facility.as_mut().expect("set").opening_hours = vec![interval(1, 600, 540)];
            }),
            "facility.opening_hours[0].close_minute",
        )
        .invalid(
            "floor area not a number",
            &facility(|f| f.total_floor_area_m2 = f64::NAN),
            "facility.total_floor_area_m2",
        )
        .invalid(
            "activity area above the total",
            &facility(|f| f.activity_area_m2 = 600.0),
            "facility.activity_area_m2",
        )
        .invalid(
            "latitude beyond 90",
            &facility(|f| f.location.as_mut().expect("set").latitude = 91.0),
            "facility.location.latitude",
        )
        .invalid(
            "negative staff",
            &facility(|f| f.staff.as_mut().expect("set").community_workers = -1),
            "facility.staff.community_workers",
        )
        .invalid(
            "negative terminals",
            &facility(|f| f.self_service_terminals = -2),
            "facility.self_service_terminals",
        )
        .invalid(
            "request id over 128 characters",
            &with(&good, |r| r.request_id = "x".repeat(129)),
            "request_id",
        )
        .fails(
            "unknown leaf unit",
            &facility(|f| f.leaf_unit = UNKNOWN_LEAF_UNIT.into()),
            Code::NotFound,
        )
}

fn batch_create_facilities(_: &Seed) -> Cases {
    let item = |request_id: &str| registry::CreateFacilityRequest {
        facility: Some(fixtures::facility(COMMUNITY)),
        request_id: request_id.into(),
        reason: String::new(),
    };
    let good = registry::BatchCreateFacilitiesRequest {
        parent: DONGCHENG.into(),
        requests: vec![item("batch-a"), item("batch-b")],
    };
    let second = |change: fn(&mut registry::Facility)| {
        with(&good, |r| {
            change(r.requests[1].facility.as_mut().expect("set"))
        })
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid(
            "no request",
            &with(&good, |r| r.requests.clear()),
            "requests",
        )
        .invalid(
            "1,001 requests",
            &with(&good, |r| {
                r.requests = (0..1001).map(|i| item(&format!("many-{i}"))).collect();
            }),
            "requests",
        )
        .invalid(
            "no facility in the first request",
            &with(&good, |r| r.requests[0].facility = None),
            "requests[0].facility",
        )
        .invalid(
            "a bad field in the second request",
            &second(|f| f.display_name.clear()),
            "requests[1].facility.display_name",
        )
        .invalid(
            "a request id twice",
            &with(&good, |r| r.requests[1].request_id = "batch-a".into()),
            "requests[1].request_id",
        )
        .invalid(
            "malformed parent",
            &with(&good, |r| r.parent = "divisions/x".into()),
            "parent",
        )
        .invalid(
            "a leaf unit outside the parent",
            &with(&good, |r| r.parent = "divisions/429004".into()),
            "requests[0].facility.leaf_unit",
        )
        .fails(
            "unknown leaf unit",
            &second(|f| f.leaf_unit = UNKNOWN_LEAF_UNIT.into()),
            Code::NotFound,
        )
}

fn get_facility(w: &Seed) -> Cases {
    let get = |name: &str| registry::GetFacilityRequest {
        name: name.into(),
        show_deleted: false,
    };
    let deleted = get(&w.deleted_facility);
    Cases::new()
        .valid(&get(&w.facility.name))
        .valid(&with(&deleted, |r| r.show_deleted = true))
        .invalid("empty name", &get(""), "name")
        .invalid("no id", &get("facilities/"), "name")
        .invalid("upper-case id", &get("facilities/ABC"), "name")
        .invalid("another collection", &get(COMMUNITY), "name")
        .fails("unknown facility", &get(UNKNOWN_FACILITY), Code::NotFound)
        .fails("deleted, not asked for", &deleted, Code::NotFound)
}

fn update_facility(w: &Seed) -> Cases {
    let good = registry::UpdateFacilityRequest {
        facility: Some(registry::Facility {
            name: w.facility.name.clone(),
            display_name: "新名称".into(),
            etag: w.facility.etag.clone(),
            ..Default::default()
        }),
        update_mask: Some(mask(&["display_name"])),
        reason: "更名".into(),
    };
    let facility = |change: fn(&mut registry::Facility)| {
        with(&good, |r| change(r.facility.as_mut().expect("set")))
    };
    let moved = |leaf_unit: &str| {
        with(&good, |r| {
            r.facility.as_mut().expect("set").leaf_unit = leaf_unit.into();
            r.update_mask = Some(mask(&["leaf_unit"]));
        })
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid(
            "no facility",
            &with(&good, |r| r.facility = None),
            "facility",
        )
        .invalid(
            "malformed name",
            &facility(|f| f.name = "facilities/Not An Id".into()),
            "facility.name",
        )
        .invalid(
            "unknown field in the mask",
            &with(&good, |r| r.update_mask = Some(mask(&["no_such_field"]))),
            "update_mask",
        )
        .invalid(
            "output-only field in the mask",
            &with(&good, |r| r.update_mask = Some(mask(&["revision"]))),
            "update_mask",
        )
        .invalid(
            "empty display name",
            &facility(|f| f.display_name.clear()),
            "facility.display_name",
        )
        .invalid(
            "out-of-range status",
            &with(&good, |r| {
                r.facility.as_mut().expect("set").status = 99;
                r.update_mask = Some(mask(&["status"]));
            }),
            "facility.status",
        )
        .invalid("moved to a township", &moved(STREET), "facility.leaf_unit")
        .fails(
            "moved to an unknown leaf unit",
            &moved(UNKNOWN_LEAF_UNIT),
            Code::NotFound,
        )
        .fails(
            "stale etag",
            &facility(|f| f.etag = "\"r0\"".into()),
            Code::Aborted,
        )
        .fails(
            "unknown facility",
            &facility(|f| {
                f.name = UNKNOWN_FACILITY.into();
                f.etag.clear();
            }),
            Code::NotFound,
        )
}

fn delete_facility(w: &Seed) -> Cases {
    let delete = |name: &str| registry::DeleteFacilityRequest {
        name: name.into(),
        etag: String::new(),
        reason: "撤销".into(),
    };
    let good = delete(&w.facility_to_delete);
    Cases::new()
        .valid(&good)
        .writes()
        .invalid("empty name", &delete(""), "name")
        .invalid("malformed name", &delete("facilities/a/b"), "name")
        .fails(
            "unknown facility",
            &delete(UNKNOWN_FACILITY),
            Code::NotFound,
        )
        .fails(
            "stale etag",
            &with(&good, |r| r.etag = "\"r0\"".into()),
            Code::Aborted,
        )
        .fails(
            "already deleted",
            &delete(&w.deleted_facility),
            Code::NotFound,
        )
}

fn undelete_facility(w: &Seed) -> Cases {
    let undelete = |name: &str| registry::UndeleteFacilityRequest {
        name: name.into(),
        reason: "恢复".into(),
    };
    Cases::new()
        .valid(&undelete(&w.deleted_facility))
        .writes()
        .invalid("empty name", &undelete(""), "name")
        .invalid("malformed name", &undelete("facility/x"), "name")
        .fails(
            "unknown facility",
            &undelete(UNKNOWN_FACILITY),
            Code::NotFound,
        )
        .fails(
            "not deleted",
            &undelete(&w.facility.name),
            Code::FailedPrecondition,
        )
}

fn list_facilities(w: &Seed) -> Cases {
    let good = registry::ListFacilitiesRequest {
        parent: DONGCHENG.into(),
        page_size: 10,
        ..Default::default()
    };
    let next = registry::ListFacilitiesRequest {
        page_size: 1,
        page_token: w.next_pages.facilities.clone(),
        ..good.clone()
    };
    let in_service = registry::FacilityStatus::InService as i32;
    Cases::new()
        .valid(&good)
        .valid(&with(&good, |r| {
            r.parent = BEIJING.into();
            r.page_size = i32::MAX;
            r.statuses = vec![in_service];
            r.leaf_unit_kind = common::LeafUnitKind::Community as i32;
            r.service = common::ServiceKind::Health as i32;
            r.show_deleted = true;
        }))
        .valid(&next)
        .invalid("empty parent", &with(&good, |r| r.parent.clear()), "parent")
        .invalid(
            "malformed parent",
            &with(&good, |r| r.parent = "divisions/1x".into()),
            "parent",
        )
        .invalid(
            "out-of-range status",
            &with(&good, |r| r.statuses = vec![in_service, 99]),
            "statuses[1]",
        )
        .invalid(
            "out-of-range leaf-unit kind",
            &with(&good, |r| r.leaf_unit_kind = 99),
            "leaf_unit_kind",
        )
        .invalid(
            "out-of-range service",
            &with(&good, |r| r.service = -1),
            "service",
        )
        .invalid(
            "negative page size",
            &with(&good, |r| r.page_size = -1),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &with(&good, |r| r.page_token = "x".into()),
            "page_token",
        )
        .invalid(
            "another filter's page token",
            &with(&next, |r| {
                r.statuses = vec![registry::FacilityStatus::Planned as i32]
            }),
            "page_token",
        )
        .fails(
            "unknown parent",
            &with(&good, |r| r.parent = UNKNOWN_DIVISION.into()),
            Code::NotFound,
        )
}

fn list_facility_revisions(w: &Seed) -> Cases {
    let list =
        |name: &str, page_size: i32, page_token: &str| registry::ListFacilityRevisionsRequest {
            name: name.into(),
            page_size,
            page_token: page_token.into(),
        };
    let next = &w.next_pages.revisions;
    Cases::new()
        .valid(&list(&w.facility.name, 10, ""))
        .valid(&list(&w.deleted_facility, i32::MAX, ""))
        .valid(&list(&w.deleted_facility, 1, next))
        .invalid("empty name", &list("", 10, ""), "name")
        .invalid(
            "negative page size",
            &list(&w.facility.name, -1, ""),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &list(&w.facility.name, 10, "x"),
            "page_token",
        )
        .invalid(
            "another facility's page token",
            &list(&w.facility.name, 1, next),
            "page_token",
        )
        .fails(
            "unknown facility",
            &list(UNKNOWN_FACILITY, 10, ""),
            Code::NotFound,
        )
}

fn stream_leaf_unit_facts(_: &Seed) -> Cases {
    let facts = |parent: &str| registry::StreamLeafUnitFactsRequest {
        parent: parent.into(),
    };
    Cases::new()
        .valid(&facts(DONGCHENG))
        .valid(&facts(""))
        .invalid("malformed parent", &facts("divisions/-1"), "parent")
        .fails("unknown parent", &facts(UNKNOWN_DIVISION), Code::NotFound)
}

fn watch_facility_changes(_: &Seed) -> Cases {
    let watch = |after: &str, parent: &str| registry::WatchFacilityChangesRequest {
        after_cursor: after.into(),
        follow: false,
        parent: parent.into(),
    };
    Cases::new()
        .valid(&watch("", ""))
        .valid(&watch("", DONGCHENG))
        .invalid("garbage cursor", &watch("garbage", ""), "after_cursor")
        .invalid("malformed parent", &watch("", "divisions/"), "parent")
        .fails(
            "unknown parent",
            &watch("", UNKNOWN_DIVISION),
            Code::NotFound,
        )
}

// ---- the survey ----

fn create_questionnaire(_: &Seed) -> Cases {
    let good = survey::CreateQuestionnaireRequest {
        questionnaire: Some(questionnaire()),
    };
    let second = |change: fn(&mut survey::Question)| {
        with(&good, |r| {
            change(&mut r.questionnaire.as_mut().expect("set").questions[1])
        })
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid(
            "no questionnaire",
            &with(&good, |r| r.questionnaire = None),
            "questionnaire",
        )
        .invalid(
            "empty title",
            &with(&good, |r| {
                r.questionnaire.as_mut().expect("set").title.clear()
            }),
            "questionnaire.title",
        )
        .invalid(
            "malformed question id",
            &second(|q| q.id = "Q 2".into()),
            "questionnaire.questions[1].id",
        )
        .invalid(
            "a question id twice",
            &second(|q| q.id = "q_overall".into()),
            "questionnaire.questions[1].id",
        )
        .invalid(
            "unspecified question type",
            &second(|q| q.r#type = 0),
            "questionnaire.questions[1].type",
        )
        .invalid(
            "out-of-range question type",
            &second(|q| q.r#type = 99),
            "questionnaire.questions[1].type",
        )
        .invalid(
            "one option",
            &second(|q| q.options.truncate(1)),
            "questionnaire.questions[1].options",
        )
        .invalid(
            "a choice counting towards satisfaction",
            &second(|q| q.counts_towards_satisfaction = true),
            "questionnaire.questions[1].counts_towards_satisfaction",
        )
        .invalid(
            "a number question whose minimum exceeds its maximum",
            &second(|q| {
                q.r#type = survey::QuestionType::Number as i32;
                q.options.clear();
                q.min_value = 10.0;
                q.max_value = 1.0;
            }),
            "questionnaire.questions[1].max_value",
        )
        .invalid(
            "out-of-range dimension",
            &second(|q| q.dimension = 99),
            "questionnaire.questions[1].dimension",
        )
}

fn get_questionnaire(w: &Seed) -> Cases {
    let get = |name: &str, version: i32| survey::GetQuestionnaireRequest {
        name: name.into(),
        version,
    };
    Cases::new()
        .valid(&get(&w.questionnaire, 1))
        .valid(&get(&w.questionnaire, 0))
        .invalid("empty name", &get("", 0), "name")
        .invalid("malformed name", &get("questionnaires/A B", 0), "name")
        .invalid("negative version", &get(&w.questionnaire, -1), "version")
        .fails(
            "unknown questionnaire",
            &get(UNKNOWN_QUESTIONNAIRE, 0),
            Code::NotFound,
        )
        .fails(
            "unpublished version",
            &get(&w.questionnaire, 2),
            Code::NotFound,
        )
}

fn list_questionnaires(w: &Seed) -> Cases {
    let list = |page_size: i32, page_token: &str, state: survey::QuestionnaireState| {
        survey::ListQuestionnairesRequest {
            page_size,
            page_token: page_token.into(),
            state: state as i32,
        }
    };
    let any = survey::QuestionnaireState::Unspecified;
    let next = &w.next_pages.questionnaires;
    Cases::new()
        .valid(&list(10, "", any))
        .valid(&list(i32::MAX, "", survey::QuestionnaireState::Published))
        .valid(&list(1, next, any))
        .invalid(
            "out-of-range state",
            &with(&list(10, "", any), |r| r.state = 99),
            "state",
        )
        .invalid("negative page size", &list(-1, "", any), "page_size")
        .invalid(
            "garbage page token",
            &list(10, "garbage", any),
            "page_token",
        )
        .invalid(
            "another filter's page token",
            &list(1, next, survey::QuestionnaireState::Unpublished),
            "page_token",
        )
}

fn update_questionnaire(w: &Seed) -> Cases {
    let good = survey::UpdateQuestionnaireRequest {
        questionnaire: Some(survey::Questionnaire {
            name: w.draft_questionnaire.clone(),
            title: "社区服务满意度(修订)".into(),
            ..questionnaire()
        }),
    };
    let change = |change: fn(&mut survey::Questionnaire)| {
        with(&good, |r| change(r.questionnaire.as_mut().expect("set")))
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid(
            "no questionnaire",
            &with(&good, |r| r.questionnaire = None),
            "questionnaire",
        )
        .invalid(
            "malformed name",
            &change(|q| q.name = "questionnaire/x".into()),
            "questionnaire.name",
        )
        .invalid(
            "empty title",
            &change(|q| q.title.clear()),
            "questionnaire.title",
        )
        .fails(
            "unknown questionnaire",
            &change(|q| q.name = UNKNOWN_QUESTIONNAIRE.into()),
            Code::NotFound,
        )
}

fn publish_questionnaire(w: &Seed) -> Cases {
    let publish = |name: &str| survey::PublishQuestionnaireRequest { name: name.into() };
    Cases::new()
        .valid(&publish(&w.draft_questionnaire))
        .writes()
        .invalid("empty name", &publish(""), "name")
        .invalid("malformed name", &publish("questionnaires/"), "name")
        .fails(
            "unknown questionnaire",
            &publish(UNKNOWN_QUESTIONNAIRE),
            Code::NotFound,
        )
        .fails(
            "no question",
            &publish(&w.empty_questionnaire),
            Code::FailedPrecondition,
        )
}

fn create_round(w: &Seed) -> Cases {
    let good = survey::CreateRoundRequest {
        round: Some(round(&w.questionnaire)),
    };
    let change =
        |change: fn(&mut survey::Round)| with(&good, |r| change(r.round.as_mut().expect("set")));
    Cases::new()
        .valid(&good)
        .writes()
        .invalid("no round", &with(&good, |r| r.round = None), "round")
        .invalid(
            "empty display name",
            &change(|r| r.display_name.clear()),
            "round.display_name",
        )
        .invalid(
            "malformed questionnaire",
            &change(|r| r.questionnaire = "questionnaires/".into()),
            "round.questionnaire",
        )
        .invalid(
            "version 0",
            &change(|r| r.questionnaire_version = 0),
            "round.questionnaire_version",
        )
        .invalid(
            "malformed region",
            &change(|r| r.region = "divisions/1".into()),
            "round.region",
        )
        .invalid(
            "no start time",
            &change(|r| r.start_time = None),
            "round.start_time",
        )
        .invalid(
            "a start time with nanoseconds out of range",
            &change(|r| r.start_time.as_mut().expect("set").nanos = 2_000_000_000),
            "round.start_time",
        )
        .invalid(
            "end before start",
            &change(|r| r.end_time = ts(START - 1)),
            "round.end_time",
        )
        .invalid(
            "no minimum of responses",
            &change(|r| r.min_valid_responses = 0),
            "round.min_valid_responses",
        )
        .fails(
            "unknown questionnaire",
            &change(|r| r.questionnaire = UNKNOWN_QUESTIONNAIRE.into()),
            Code::NotFound,
        )
        .fails(
            "unpublished version",
            &change(|r| r.questionnaire_version = 2),
            Code::NotFound,
        )
        .fails(
            "unknown region",
            &change(|r| r.region = UNKNOWN_DIVISION.into()),
            Code::NotFound,
        )
}

fn get_round(w: &Seed) -> Cases {
    let get = |name: &str| survey::GetRoundRequest { name: name.into() };
    Cases::new()
        .valid(&get(&w.open_round))
        .invalid("empty name", &get(""), "name")
        .invalid("malformed name", &get("rounds/A"), "name")
        .fails("unknown round", &get(UNKNOWN_ROUND), Code::NotFound)
}

fn list_rounds(w: &Seed) -> Cases {
    let good = survey::ListRoundsRequest {
        page_size: 10,
        ..Default::default()
    };
    let next = survey::ListRoundsRequest {
        page_size: 1,
        page_token: w.next_pages.rounds.clone(),
        ..good.clone()
    };
    Cases::new()
        .valid(&good)
        .valid(&with(&good, |r| {
            r.page_size = i32::MAX;
            r.state = survey::RoundState::Open as i32;
            r.questionnaire = w.questionnaire.clone();
        }))
        .valid(&next)
        .invalid(
            "out-of-range state",
            &with(&good, |r| r.state = 99),
            "state",
        )
        .invalid(
            "malformed questionnaire",
            &with(&good, |r| r.questionnaire = "questionnaires/".into()),
            "questionnaire",
        )
        .invalid(
            "negative page size",
            &with(&good, |r| r.page_size = -1),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &with(&good, |r| r.page_token = "x".into()),
            "page_token",
        )
        .invalid(
            "another filter's page token",
            &with(&next, |r| r.state = survey::RoundState::Closed as i32),
            "page_token",
        )
}

fn open_round(w: &Seed) -> Cases {
    let open = |name: &str| survey::OpenRoundRequest { name: name.into() };
    Cases::new()
        .valid(&open(&w.draft_round))
        .writes()
        .invalid("empty name", &open(""), "name")
        .fails("unknown round", &open(UNKNOWN_ROUND), Code::NotFound)
        .fails(
            "already open",
            &open(&w.open_round),
            Code::FailedPrecondition,
        )
        .fails("closed", &open(&w.closed_round), Code::FailedPrecondition)
}

fn close_round(w: &Seed) -> Cases {
    let close = |name: &str| survey::CloseRoundRequest { name: name.into() };
    Cases::new()
        .valid(&close(&w.round_to_close))
        .writes()
        .invalid("empty name", &close(""), "name")
        .fails("unknown round", &close(UNKNOWN_ROUND), Code::NotFound)
        .fails(
            "already closed",
            &close(&w.closed_round),
            Code::FailedPrecondition,
        )
}

fn get_round_results(w: &Seed) -> Cases {
    let results = |round: &str, division: &str| survey::GetRoundResultsRequest {
        round: round.into(),
        division: division.into(),
    };
    Cases::new()
        .valid(&results(&w.open_round, ""))
        .valid(&results(&w.open_round, COMMUNITY))
        .valid(&results(&w.open_round, STREET))
        .invalid("empty round", &results("", ""), "round")
        .invalid(
            "malformed division",
            &results(&w.open_round, "divisions/"),
            "division",
        )
        .invalid(
            "a division outside the region",
            &results(&w.open_round, XIANTAO),
            "division",
        )
        .fails("unknown round", &results(UNKNOWN_ROUND, ""), Code::NotFound)
}

fn get_round_coverage(w: &Seed) -> Cases {
    let good = survey::GetRoundCoverageRequest {
        round: w.open_round.clone(),
        page_size: 10,
        ..Default::default()
    };
    let next = survey::GetRoundCoverageRequest {
        page_size: 1,
        page_token: w.next_pages.coverage.clone(),
        ..good.clone()
    };
    Cases::new()
        .valid(&good)
        .valid(&with(&good, |r| {
            r.division = STREET.into();
            r.page_size = i32::MAX;
        }))
        .valid(&next)
        .invalid("empty round", &with(&good, |r| r.round.clear()), "round")
        .invalid(
            "malformed division",
            &with(&good, |r| r.division = "divisions/x".into()),
            "division",
        )
        .invalid(
            "a division outside the region",
            &with(&good, |r| r.division = XIANTAO.into()),
            "division",
        )
        .invalid(
            "negative page size",
            &with(&good, |r| r.page_size = -1),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &with(&good, |r| r.page_token = "x".into()),
            "page_token",
        )
        .invalid(
            "another division's page token",
            &with(&next, |r| r.division = STREET.into()),
            "page_token",
        )
        .fails(
            "unknown round",
            &with(&good, |r| r.round = UNKNOWN_ROUND.into()),
            Code::NotFound,
        )
}

fn stream_round_facts(w: &Seed) -> Cases {
    let facts = |round: &str| survey::StreamRoundFactsRequest {
        round: round.into(),
    };
    Cases::new()
        .valid(&facts(&w.open_round))
        .valid(&facts(&w.closed_round))
        .invalid("empty round", &facts(""), "round")
        .invalid("malformed round", &facts("round/x"), "round")
        .fails("unknown round", &facts(UNKNOWN_ROUND), Code::NotFound)
}

fn export_responses(w: &Seed) -> Cases {
    let export = |round: &str| survey::ExportResponsesRequest {
        round: round.into(),
    };
    Cases::new()
        .valid(&export(&w.open_round))
        .invalid("empty round", &export(""), "round")
        .fails("unknown round", &export(UNKNOWN_ROUND), Code::NotFound)
}

fn submit_response(w: &Seed) -> Cases {
    let good = survey::SubmitResponseRequest {
        parent: w.open_round.clone(),
        response: Some(response("robustness-submit", COMMUNITY)),
    };
    let change = |change: fn(&mut survey::Response)| {
        with(&good, |r| change(r.response.as_mut().expect("set")))
    };
    let answer = |question_id: &str, value| survey::Answer {
        question_id: question_id.into(),
        value: Some(value),
    };
    let answered = |answers: Vec<survey::Answer>| {
        with(&good, |r| {
            r.response.as_mut().expect("set").answers = answers
        })
    };
    use survey::answer::Value::{OptionId, Rating, Yes};
    Cases::new()
        .valid(&good)
        .writes()
        .invalid("empty parent", &with(&good, |r| r.parent.clear()), "parent")
        .invalid(
            "no response",
            &with(&good, |r| r.response = None),
            "response",
        )
        .invalid(
            "malformed response id",
            &change(|r| r.response_id = "not ok!".into()),
            "response.response_id",
        )
        .invalid(
            "malformed leaf unit",
            &change(|r| r.leaf_unit = "divisions/".into()),
            "response.leaf_unit",
        )
        .invalid(
            "a leaf unit outside the region",
            &change(|r| r.leaf_unit = XIANTAO_COMMUNITY.into()),
            "response.leaf_unit",
        )
        .invalid(
            "out-of-range channel",
            &change(|r| r.channel = 99),
            "response.channel",
        )
        .invalid(
            "collected before the window",
            &change(|r| r.collect_time = ts(START - 1)),
            "response.collect_time",
        )
        .invalid(
            "a required question unanswered",
            &answered(vec![answer("q_channel", OptionId("online".into()))]),
            "response.answers",
        )
        .invalid(
            "a rating of 6",
            &answered(vec![answer("q_overall", Rating(6))]),
            "response.answers[0].rating",
        )
        .invalid(
            "a question answered twice",
            &answered(vec![
                answer("q_overall", Rating(4)),
                answer("q_overall", Rating(5)),
            ]),
            "response.answers[1].question_id",
        )
        .invalid(
            "an answer of another type",
            &answered(vec![answer("q_overall", Yes(true))]),
            "response.answers[0].value",
        )
        .invalid(
            "an unknown question",
            &answered(vec![answer("q_none", Rating(3))]),
            "response.answers[0].question_id",
        )
        .fails(
            "unknown round",
            &with(&good, |r| r.parent = UNKNOWN_ROUND.into()),
            Code::NotFound,
        )
        .fails(
            "a closed round",
            &with(&good, |r| r.parent = w.closed_round.clone()),
            Code::FailedPrecondition,
        )
        .fails(
            "a stored id with another body",
            &with(&answered(vec![answer("q_overall", Rating(1))]), |r| {
                r.response.as_mut().expect("set").response_id = "seed-read".into();
            }),
            Code::AlreadyExists,
        )
}

fn bulk_submit_responses(w: &Seed) -> Cases {
    let batch =
        |parent: &str, responses: Vec<survey::Response>| survey::BulkSubmitResponsesRequest {
            parent: parent.into(),
            responses,
        };
    let good = |id: &str| response(id, OTHER_COMMUNITY);
    let rated_6 = survey::Response {
        answers: vec![survey::Answer {
            question_id: "q_overall".into(),
            value: Some(survey::answer::Value::Rating(6)),
        }],
        ..good("bulk-bad")
    };
    let many = (0..1001).map(|i| good(&format!("bulk-many-{i}"))).collect();
    Cases::new()
        .valid_stream(&[
            batch(&w.open_round, vec![good("bulk-1"), good("bulk-2")]),
            batch("", vec![good("bulk-3")]),
        ])
        .writes()
        .invalid_stream("empty parent", &[batch("", vec![good("bulk-x")])], "parent")
        .invalid_stream(
            "another parent in a later batch",
            // The first batch resends a stored response: it commits nothing.
            &[
                batch(&w.open_round, vec![response("seed-read", COMMUNITY)]),
                batch(&w.closed_round, vec![good("bulk-z")]),
            ],
            "parent",
        )
        .invalid_stream(
            "1,001 responses in a batch",
            &[batch(&w.open_round, many)],
            "responses",
        )
        .rejected_in_results(
            "a rating of 6",
            &[batch(&w.open_round, vec![rated_6])],
            "answers[0].rating",
        )
        .fails_stream(
            "unknown round",
            &[batch(UNKNOWN_ROUND, vec![good("bulk-u")])],
            Code::NotFound,
        )
        .fails_stream(
            "a closed round",
            &[batch(&w.closed_round, vec![good("bulk-c")])],
            Code::FailedPrecondition,
        )
}

fn get_response(w: &Seed) -> Cases {
    let get = |name: &str| survey::GetResponseRequest { name: name.into() };
    Cases::new()
        .valid(&get(&w.response))
        .valid(&get(&w.invalidated_response))
        .invalid("empty name", &get(""), "name")
        .invalid(
            "no response id",
            &get(&format!("{}/responses/", w.open_round)),
            "name",
        )
        .invalid("a round's name", &get(&w.open_round), "name")
        .fails(
            "unknown response",
            &get(&format!("{}/responses/none", w.open_round)),
            Code::NotFound,
        )
        .fails(
            "unknown round",
            &get(&format!("{UNKNOWN_ROUND}/responses/x")),
            Code::NotFound,
        )
}

fn invalidate_response(w: &Seed) -> Cases {
    let invalidate = |name: &str| survey::InvalidateResponseRequest {
        name: name.into(),
        reason: "重复填写".into(),
    };
    let good = invalidate(&w.response_to_invalidate);
    Cases::new()
        .valid(&good)
        .writes()
        .invalid("empty name", &invalidate(""), "name")
        .invalid("no reason", &with(&good, |r| r.reason.clear()), "reason")
        .fails(
            "unknown response",
            &invalidate(&format!("{}/responses/none", w.open_round)),
            Code::NotFound,
        )
        .fails(
            "already invalid",
            &invalidate(&w.invalidated_response),
            Code::FailedPrecondition,
        )
}

// ---- plan monitoring ----

fn list_indicators(_: &Seed) -> Cases {
    let list = |plan: &str| plan::ListIndicatorsRequest { plan: plan.into() };
    Cases::new()
        .valid(&list(""))
        .valid(&list(BEIJING_PLAN))
        .invalid("malformed plan", &list("plans/"), "plan")
        .fails("unknown plan", &list(UNKNOWN_PLAN), Code::NotFound)
}

fn get_indicator(_: &Seed) -> Cases {
    let get = |name: &str| plan::GetIndicatorRequest { name: name.into() };
    Cases::new()
        .valid(&get(REPORTED_INDICATOR))
        .invalid("empty name", &get(""), "name")
        .invalid("malformed name", &get("indicators/Not-A-Code"), "name")
        .fails(
            "unknown indicator",
            &get("indicators/no_such_indicator"),
            Code::NotFound,
        )
}

fn report_value(_: &Seed) -> Cases {
    let good = plan::ReportValueRequest {
        value: Some(reported_value(11.0)),
    };
    let change = |change: fn(&mut plan::ReportedValue)| {
        with(&good, |r| change(r.value.as_mut().expect("set")))
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid("no value", &with(&good, |r| r.value = None), "value")
        .invalid(
            "malformed indicator",
            &change(|v| v.indicator = "indicators/".into()),
            "value.indicator",
        )
        .invalid(
            "an indicator nobody reports",
            &change(|v| v.indicator = "indicators/urban_facility_coverage".into()),
            "value.indicator",
        )
        .invalid(
            "malformed division",
            &change(|v| v.division = "110101".into()),
            "value.division",
        )
        .invalid(
            "quarter 5",
            &change(|v| v.period = "2025-Q5".into()),
            "value.period",
        )
        .invalid(
            "month 13",
            &change(|v| v.period = "2025-13".into()),
            "value.period",
        )
        .invalid(
            "month 0",
            &change(|v| v.period = "2025-00".into()),
            "value.period",
        )
        .invalid("negative value", &change(|v| v.value = -1.0), "value.value")
        .invalid(
            "not a number",
            &change(|v| v.value = f64::NAN),
            "value.value",
        )
        .fails(
            "a division the registry does not know",
            &change(|v| v.division = "divisions/64".into()),
            Code::NotFound,
        )
}

fn list_reported_value_history(_: &Seed) -> Cases {
    let history = |indicator: &str, division: &str| plan::ListReportedValueHistoryRequest {
        indicator: indicator.into(),
        division: division.into(),
    };
    Cases::new()
        .valid(&history(REPORTED_INDICATOR, COMMUNITY))
        .invalid(
            "malformed indicator",
            &history("community_workers", COMMUNITY),
            "indicator",
        )
        .invalid(
            "empty division",
            &history(REPORTED_INDICATOR, ""),
            "division",
        )
        .invalid(
            "malformed division",
            &history(REPORTED_INDICATOR, "divisions/1"),
            "division",
        )
        .fails(
            "a division the registry does not know",
            &history(REPORTED_INDICATOR, "divisions/64"),
            Code::NotFound,
        )
}

fn create_plan(_: &Seed) -> Cases {
    let good = plan::CreatePlanRequest {
        plan: Some(beijing_plan("plans/beijing-robustness")),
    };
    let change =
        |change: fn(&mut plan::Plan)| with(&good, |r| change(r.plan.as_mut().expect("set")));
    let national = plan::PlanLevel::National as i32;
    Cases::new()
        .valid(&good)
        .writes()
        .invalid("no plan", &with(&good, |r| r.plan = None), "plan")
        .invalid(
            "malformed name",
            &change(|p| p.name = "plans/Not Ok".into()),
            "plan.name",
        )
        .invalid("unspecified level", &change(|p| p.level = 0), "plan.level")
        .invalid(
            "out-of-range level",
            &change(|p| p.level = 99),
            "plan.level",
        )
        .invalid(
            "malformed scope",
            &change(|p| p.scope = "11".into()),
            "plan.scope",
        )
        .invalid(
            "a county as a provincial plan's scope",
            &change(|p| p.scope = DONGCHENG.into()),
            "plan.scope",
        )
        .invalid(
            "a province as a county plan's scope",
            &change(|p| p.level = plan::PlanLevel::County as i32),
            "plan.scope",
        )
        .invalid(
            "a prefectural plan of a county",
            &change(|p| {
                p.level = plan::PlanLevel::Prefectural as i32;
                p.scope = DONGCHENG.into();
            }),
            "plan.level",
        )
        .invalid(
            "a national plan with a scope",
            &with(&good, |r| {
                let p = r.plan.as_mut().expect("set");
                p.level = national;
                p.parent.clear();
            }),
            "plan.scope",
        )
        .invalid(
            "a provincial plan without parent",
            &change(|p| p.parent.clear()),
            "plan.parent",
        )
        .invalid("year 0", &change(|p| p.start_year = 0), "plan.start_year")
        .invalid(
            "ends before it starts",
            &change(|p| p.end_year = 2020),
            "plan.end_year",
        )
        .invalid(
            "out-of-range indicator kind",
            &change(|p| p.indicators[0].kind = 99),
            "plan.indicators[0].kind",
        )
        .invalid(
            "a target of no indicator",
            &change(|p| {
                p.targets = vec![plan::Target {
                    indicator: "indicators/no_such_indicator".into(),
                    target_value: 1.0,
                    target_year: 2025,
                    ..Default::default()
                }];
            }),
            "plan.targets[0].indicator",
        )
        .invalid(
            "an out-of-range target direction",
            &change(|p| {
                p.targets = vec![plan::Target {
                    indicator: "indicators/terminals".into(),
                    target_value: 1.0,
                    target_year: 2025,
                    direction: 99,
                    ..Default::default()
                }];
            }),
            "plan.targets[0].direction",
        )
        .invalid(
            "an out-of-range status method",
            &change(|p| {
                p.targets = vec![plan::Target {
                    indicator: "indicators/terminals".into(),
                    target_value: 1.0,
                    target_year: 2025,
                    method: 99,
                    ..Default::default()
                }];
            }),
            "plan.targets[0].method",
        )
        .invalid(
            "a milestone outside the plan's period",
            &change(|p| {
                p.targets = vec![plan::Target {
                    indicator: "indicators/terminals".into(),
                    target_value: 1.0,
                    target_year: 2025,
                    milestones: vec![plan::Milestone {
                        year: 2030,
                        value: 0.5,
                    }],
                    ..Default::default()
                }];
            }),
            "plan.targets[0].milestones[0].year",
        )
        .invalid(
            "a target override outside the plan's scope",
            &change(|p| {
                p.targets = vec![plan::Target {
                    indicator: "indicators/terminals".into(),
                    target_value: 1.0,
                    target_year: 2025,
                    overrides: vec![plan::TargetOverride {
                        division: XIANTAO.into(),
                        target_value: 2.0,
                        ..Default::default()
                    }],
                    ..Default::default()
                }];
            }),
            "plan.targets[0].overrides[0].division",
        )
        .fails(
            "unknown parent",
            &change(|p| p.parent = UNKNOWN_PLAN.into()),
            Code::NotFound,
        )
        .fails(
            "a name taken",
            &change(|p| p.name = BEIJING_PLAN.into()),
            Code::AlreadyExists,
        )
}

fn get_plan(_: &Seed) -> Cases {
    let get = |name: &str| plan::GetPlanRequest { name: name.into() };
    Cases::new()
        .valid(&get(BEIJING_PLAN))
        .valid(&get(NATIONAL_PLAN))
        .invalid("empty name", &get(""), "name")
        .invalid("malformed name", &get("plan/beijing"), "name")
        .fails("unknown plan", &get(UNKNOWN_PLAN), Code::NotFound)
}

fn list_plans(w: &Seed) -> Cases {
    let list = |page_size: i32, page_token: &str| plan::ListPlansRequest {
        page_size,
        page_token: page_token.into(),
    };
    Cases::new()
        .valid(&list(10, ""))
        .valid(&list(i32::MAX, ""))
        .valid(&list(1, &w.next_pages.plans))
        .invalid("negative page size", &list(-1, ""), "page_size")
        .invalid("garbage page token", &list(10, "garbage"), "page_token")
}

fn load_national_plan(_: &Seed) -> Cases {
    // Loaded when seeded: loading again returns the stored plan and writes nothing.
    Cases::new()
        .valid(&plan::LoadNationalPlanRequest {})
        .takes_no_input("the request has no field")
}

fn load_plan_file(_: &Seed) -> Cases {
    let file = |id: &str, level: &str, scope: &str| plan::LoadPlanFileRequest {
        content: format!(
            "id = \"{id}\"\ndisplay_name = \"北京市规划\"\nlevel = \"{level}\"\nscope = \"{scope}\"\n\
             parent = \"national-14th-fyp\"\nstart_year = 2021\nend_year = 2025\n"
        ),
    };
    let content = |text: &str| plan::LoadPlanFileRequest {
        content: text.into(),
    };
    Cases::new()
        .valid(&file("beijing-file", "provincial", "11"))
        .writes()
        .invalid("empty file", &content(""), "content")
        .invalid("neither TOML nor YAML", &content("id = ["), "content")
        .invalid(
            "an unknown level",
            &file("beijing-bad", "municipal", "11"),
            "content.level",
        )
        .invalid(
            "malformed scope",
            &file("beijing-bad", "provincial", "1x"),
            "plan.scope",
        )
}

fn check_plan_alignment(_: &Seed) -> Cases {
    let check = |name: &str| plan::CheckPlanAlignmentRequest { name: name.into() };
    Cases::new()
        .valid(&check(BEIJING_PLAN))
        .valid(&check(NATIONAL_PLAN))
        .invalid("empty name", &check(""), "name")
        .fails("unknown plan", &check(UNKNOWN_PLAN), Code::NotFound)
}

fn revise_target(_: &Seed) -> Cases {
    let good = plan::ReviseTargetRequest {
        plan: BEIJING_PLAN.into(),
        revision: Some(terminals_revision()),
    };
    let change = |change: fn(&mut plan::TargetRevision)| {
        with(&good, |r| change(r.revision.as_mut().expect("set")))
    };
    Cases::new()
        .valid(&good)
        .writes()
        .invalid(
            "no revision",
            &with(&good, |r| r.revision = None),
            "revision",
        )
        .invalid("empty plan", &with(&good, |r| r.plan.clear()), "plan")
        .invalid(
            "an indicator without a target",
            &change(|r| r.indicator = "indicators/urban_facility_coverage".into()),
            "revision.indicator",
        )
        .invalid(
            "malformed date",
            &change(|r| r.effective_date = "2023-02-30".into()),
            "revision.effective_date",
        )
        .invalid(
            "a date outside the plan's years",
            &change(|r| r.effective_date = "2030-01-01".into()),
            "revision.effective_date",
        )
        .invalid(
            "a reason of white space",
            &change(|r| r.reason = "  ".into()),
            "revision.reason",
        )
        .invalid(
            "malformed division",
            &change(|r| r.division = "divisions/1x".into()),
            "revision.division",
        )
        .invalid(
            "a division outside the plan's scope",
            &change(|r| r.division = XIANTAO.into()),
            "revision.division",
        )
        .invalid(
            "a milestone outside the plan's period",
            &change(|r| {
                r.milestones = vec![plan::Milestone {
                    year: 2030,
                    value: 11.0,
                }]
            }),
            "revision.milestones[0].year",
        )
        .fails(
            "unknown plan",
            &with(&good, |r| r.plan = UNKNOWN_PLAN.into()),
            Code::NotFound,
        )
}

fn list_target_revisions(_: &Seed) -> Cases {
    let list = |plan: &str, page_size: i32, page_token: &str| plan::ListTargetRevisionsRequest {
        plan: plan.into(),
        page_size,
        page_token: page_token.into(),
    };
    Cases::new()
        .valid(&list(BEIJING_PLAN, 10, ""))
        .valid(&list(NATIONAL_PLAN, i32::MAX, ""))
        .invalid("empty plan", &list("", 10, ""), "plan")
        .invalid(
            "negative page size",
            &list(BEIJING_PLAN, -1, ""),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &list(BEIJING_PLAN, 10, "garbage"),
            "page_token",
        )
        .fails("unknown plan", &list(UNKNOWN_PLAN, 10, ""), Code::NotFound)
}

fn evaluate_plan(_: &Seed) -> Cases {
    let good = evaluate(BEIJING_PLAN);
    Cases::new()
        .valid(&good)
        .writes()
        .invalid("empty plan", &with(&good, |r| r.plan.clear()), "plan")
        .invalid(
            "malformed date",
            &with(&good, |r| r.evaluation_date = "2025-13-01".into()),
            "evaluation_date",
        )
        .invalid(
            "malformed survey round",
            &with(&good, |r| r.survey_round = "round/x".into()),
            "survey_round",
        )
        .fails("unknown plan", &evaluate(UNKNOWN_PLAN), Code::NotFound)
        .fails(
            "unknown survey round",
            &with(&good, |r| r.survey_round = UNKNOWN_ROUND.into()),
            Code::NotFound,
        )
}

fn get_evaluation(w: &Seed) -> Cases {
    let get = |name: &str| plan::GetEvaluationRequest { name: name.into() };
    Cases::new()
        .valid(&get(&w.evaluation))
        .invalid("empty name", &get(""), "name")
        .invalid("a plan's name", &get(BEIJING_PLAN), "name")
        .fails(
            "unknown evaluation",
            &get(&unknown_evaluation(BEIJING_PLAN)),
            Code::NotFound,
        )
        .fails(
            "unknown plan",
            &get(&unknown_evaluation(UNKNOWN_PLAN)),
            Code::NotFound,
        )
}

fn list_evaluations(w: &Seed) -> Cases {
    let list = |parent: &str, page_size: i32, page_token: &str| plan::ListEvaluationsRequest {
        parent: parent.into(),
        page_size,
        page_token: page_token.into(),
    };
    let next = &w.next_pages.evaluations;
    Cases::new()
        .valid(&list(BEIJING_PLAN, 1, ""))
        .valid(&list(BEIJING_PLAN, i32::MAX, ""))
        .valid(&list(BEIJING_PLAN, 1, next))
        .invalid("empty parent", &list("", 10, ""), "parent")
        .invalid(
            "negative page size",
            &list(BEIJING_PLAN, -1, ""),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &list(BEIJING_PLAN, 10, "garbage"),
            "page_token",
        )
        .invalid(
            "another plan's page token",
            &list(NATIONAL_PLAN, 1, next),
            "page_token",
        )
        .fails("unknown plan", &list(UNKNOWN_PLAN, 10, ""), Code::NotFound)
}

fn list_result_records(w: &Seed) -> Cases {
    let records =
        |evaluation: &str, division: &str, indicator: &str, page_size: i32, page_token: &str| {
            plan::ListResultRecordsRequest {
                evaluation: evaluation.into(),
                division: division.into(),
                indicator: indicator.into(),
                page_size,
                page_token: page_token.into(),
            }
        };
    let urban = "indicators/urban_facility_coverage";
    Cases::new()
        .valid(&records(&w.evaluation, "", urban, 10, ""))
        .valid(&records(&w.evaluation, COMMUNITY, urban, i32::MAX, ""))
        .valid(&records(
            &w.evaluation,
            DONGCHENG,
            "indicators/community_workers",
            10,
            "",
        ))
        .invalid(
            "empty evaluation",
            &records("", "", urban, 10, ""),
            "evaluation",
        )
        .invalid(
            "empty indicator",
            &records(&w.evaluation, "", "", 10, ""),
            "indicator",
        )
        .invalid(
            "an indicator the evaluation does not have",
            &records(&w.evaluation, "", "indicators/no_such_indicator", 10, ""),
            "indicator",
        )
        .invalid(
            "malformed division",
            &records(&w.evaluation, "divisions/", urban, 10, ""),
            "division",
        )
        .invalid(
            "negative page size",
            &records(&w.evaluation, "", urban, -1, ""),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &records(&w.evaluation, "", urban, 10, "garbage"),
            "page_token",
        )
        .fails(
            "a division it does not hold",
            &records(&w.evaluation, HUBEI, urban, 10, ""),
            Code::NotFound,
        )
        .fails(
            "unknown evaluation",
            &records(&unknown_evaluation(BEIJING_PLAN), "", urban, 10, ""),
            Code::NotFound,
        )
}

fn get_division_result(w: &Seed) -> Cases {
    let result = |evaluation: &str, division: &str| plan::GetDivisionResultRequest {
        evaluation: evaluation.into(),
        division: division.into(),
    };
    Cases::new()
        .valid(&result(&w.evaluation, ""))
        .valid(&result(&w.evaluation, COMMUNITY))
        .invalid("empty evaluation", &result("", ""), "evaluation")
        .invalid(
            "malformed division",
            &result(&w.evaluation, "divisions/"),
            "division",
        )
        .fails(
            "a division it does not hold",
            &result(&w.evaluation, HUBEI),
            Code::NotFound,
        )
        .fails(
            "a division nobody knows",
            &result(&w.evaluation, UNKNOWN_DIVISION),
            Code::NotFound,
        )
        .fails(
            "unknown evaluation",
            &result(&unknown_evaluation(BEIJING_PLAN), ""),
            Code::NotFound,
        )
}

fn list_child_results(w: &Seed) -> Cases {
    let good = plan::ListChildResultsRequest {
        evaluation: w.evaluation.clone(),
        division: DONGCHENG.into(),
        page_size: 10,
        ..Default::default()
    };
    let next = plan::ListChildResultsRequest {
        page_size: 1,
        page_token: w.next_pages.children.clone(),
        ..good.clone()
    };
    Cases::new()
        .valid(&good)
        .valid(&with(&good, |r| {
            r.division.clear();
            r.rank_by = "indicators/urban_facility_coverage".into();
            r.limit = 2;
            r.page_size = i32::MAX;
        }))
        .valid(&next)
        .invalid(
            "empty evaluation",
            &with(&good, |r| r.evaluation.clear()),
            "evaluation",
        )
        .invalid(
            "malformed division",
            &with(&good, |r| r.division = "divisions/x".into()),
            "division",
        )
        .invalid(
            "malformed ranking indicator",
            &with(&good, |r| r.rank_by = "urban_facility_coverage".into()),
            "rank_by",
        )
        .invalid(
            "ranked by an indicator it does not hold",
            &with(&good, |r| r.rank_by = "indicators/no_such_indicator".into()),
            "rank_by",
        )
        .invalid("negative limit", &with(&good, |r| r.limit = -1), "limit")
        .invalid(
            "negative page size",
            &with(&good, |r| r.page_size = -1),
            "page_size",
        )
        .invalid(
            "garbage page token",
            &with(&good, |r| r.page_token = "x".into()),
            "page_token",
        )
        .invalid(
            "another division's page token",
            &with(&next, |r| r.division = STREET.into()),
            "page_token",
        )
        .fails(
            "a division it does not hold",
            &with(&good, |r| r.division = HUBEI.into()),
            Code::NotFound,
        )
}

fn compare_evaluations(w: &Seed) -> Cases {
    let compare = |base: &str, other: &str, division: &str| plan::CompareEvaluationsRequest {
        base: base.into(),
        other: other.into(),
        division: division.into(),
    };
    let (earlier, later) = (&w.evaluation, &w.later_evaluation);
    Cases::new()
        .valid(&compare(earlier, later, ""))
        .valid(&compare(earlier, later, DONGCHENG))
        .invalid("empty base", &compare("", later, ""), "base")
        .invalid("empty other", &compare(earlier, "", ""), "other")
        .invalid(
            "another plan's evaluation",
            &compare(earlier, &unknown_evaluation(NATIONAL_PLAN), ""),
            "other",
        )
        .invalid(
            "malformed division",
            &compare(earlier, later, "divisions/1"),
            "division",
        )
        .fails(
            "a division they do not hold",
            &compare(earlier, later, HUBEI),
            Code::NotFound,
        )
        .fails(
            "unknown evaluation",
            &compare(earlier, &unknown_evaluation(BEIJING_PLAN), ""),
            Code::NotFound,
        )
}

fn render_report(w: &Seed) -> Cases {
    let good = plan::RenderReportRequest {
        evaluation: w.evaluation.clone(),
        division: String::new(),
        format: plan::ReportFormat::Text as i32,
        worst_regions: 0,
    };
    Cases::new()
        .valid(&good)
        .valid(&with(&good, |r| {
            r.division = DONGCHENG.into();
            r.worst_regions = 5;
            r.format = plan::ReportFormat::Json as i32;
        }))
        .invalid(
            "empty evaluation",
            &with(&good, |r| r.evaluation.clear()),
            "evaluation",
        )
        .invalid(
            "out-of-range format",
            &with(&good, |r| r.format = 99),
            "format",
        )
        .invalid(
            "negative worst regions",
            &with(&good, |r| r.worst_regions = -1),
            "worst_regions",
        )
        .invalid(
            "malformed division",
            &with(&good, |r| r.division = "divisions/".into()),
            "division",
        )
        .fails(
            "a division it does not hold",
            &with(&good, |r| r.division = HUBEI.into()),
            Code::NotFound,
        )
        .fails(
            "unknown evaluation",
            &with(&good, |r| r.evaluation = unknown_evaluation(BEIJING_PLAN)),
            Code::NotFound,
        )
}

// ---- the audit trail of every service ----

fn stream_audit_records(_: &Seed) -> Cases {
    let stream = |after_position: i64| audit::StreamAuditRecordsRequest {
        after_position,
        follow: false,
    };
    Cases::new()
        .valid(&stream(0))
        .valid(&stream(i64::MAX))
        .invalid("negative position", &stream(-1), "after_position")
}

// ---- names and helpers ----

/// Names of nothing stored, well formed.
const UNKNOWN_LEAF_UNIT: &str = "divisions/640101001001";
const UNKNOWN_FACILITY: &str = "facilities/0000-none";
const UNKNOWN_QUESTIONNAIRE: &str = "questionnaires/0000";
const UNKNOWN_ROUND: &str = "rounds/0000";
const UNKNOWN_PLAN: &str = "plans/none";
/// 仙桃市 and a community there: in the sample, outside every seeded round's region.
const XIANTAO: &str = "divisions/429004";
const XIANTAO_COMMUNITY: &str = "divisions/429004001001";

fn unknown_evaluation(plan: &str) -> String {
    format!("{plan}/evaluations/none")
}

/// `base` with one change: a request one mistake away from a valid one.
fn with<T: Clone>(base: &T, change: impl FnOnce(&mut T)) -> T {
    let mut changed = base.clone();
    change(&mut changed);
    changed
}

fn mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}

// ---- the runner ----

#[test]
fn every_described_method_has_an_entry() {
    let missing: Vec<String> = rpc::described_methods()
        .into_iter()
        .filter(|m| !TABLE.iter().any(|(name, _)| *name == m.short()))
        .map(|m| m.path)
        .collect();
    assert!(
        missing.is_empty(),
        "methods without an entry in `robustness.rs`'s TABLE: {missing:#?}"
    );
    for (path, _) in TABLE {
        assert!(
            rpc::method(path).is_some(),
            "{path} is in TABLE but not described"
        );
        assert_eq!(
            TABLE.iter().filter(|(p, _)| p == path).count(),
            1,
            "{path} is in TABLE twice"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_refuses_bad_requests_and_serves_good_ones() {
    let started = std::time::Instant::now();
    let platform = Platform::development().await.unwrap();
    let seed = platform.seed().await.unwrap();
    let mut failures = Vec::new();
    for (path, cases) in TABLE {
        let method = rpc::method(path).unwrap_or_else(|| panic!("{path} is not described"));
        let cases = cases(&seed);
        assert!(
            !cases.valid.is_empty(),
            "{path}: every entry has a valid request"
        );
        assert!(
            !cases.invalid.is_empty() || cases.no_input_reason.is_some(),
            "{path}: every entry has invalid requests, or says why it cannot"
        );
        let servers = match Server::of(&method.path) {
            Some(server) => vec![server],
            None => Server::ALL.to_vec(),
        };
        for server in servers {
            let label = format!("{} on {server:?}", method.short());
            let before = platform.audit_ends().await;
            for bad in &cases.invalid {
                let result = platform.call_as(server, method, &bad.request, None).await;
                if let Some(wrong) = bad.expect.mismatch(&result) {
                    failures.push(format!("{label}, {}: {wrong}", bad.what));
                }
            }
            let after = platform.audit_ends().await;
            if after != before {
                failures.push(format!(
                    "{label}: the invalid requests stored something (audit trails {before:?} → {after:?})"
                ));
            }
            for (i, request) in cases.valid.iter().enumerate() {
                let result = platform.call_as(server, method, request, None).await;
                if let Err(status) = result {
                    failures.push(format!(
                        "{label}, valid request {i}: {:?} {}",
                        status.code(),
                        status.message()
                    ));
                }
            }
            let moved = platform.audit_ends().await != after;
            if moved != cases.writes {
                failures.push(format!(
                    "{label}: the valid requests {} the audit trail",
                    if moved { "moved" } else { "did not move" }
                ));
            }
        }
    }
    eprintln!(
        "robustness: {} methods in {:?}",
        TABLE.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The cases of one method.
#[derive(Debug, Default)]
struct Cases {
    valid: Vec<Messages>,
    /// Whether the valid requests write (and so record in the audit trail).
    writes: bool,
    invalid: Vec<Bad>,
    /// Why the method has no invalid request.
    no_input_reason: Option<&'static str>,
}

#[derive(Debug)]
struct Bad {
    what: &'static str,
    request: Messages,
    expect: Expect,
}

#[derive(Debug)]
enum Expect {
    /// INVALID_ARGUMENT with a `BadRequest` violation of this field.
    Invalid(&'static str),
    /// Another code.
    Code(Code),
    /// A bulk stream that succeeds, its one result rejecting the response as INVALID_ARGUMENT
    /// naming this field (relative to the response).
    Rejected(&'static str),
}

impl Expect {
    /// What is wrong with `result`, if anything.
    fn mismatch(&self, result: &Result<Vec<Vec<u8>>, tonic::Status>) -> Option<String> {
        match (self, result) {
            (Expect::Invalid(field), Err(status)) if status.code() == Code::InvalidArgument => {
                let fields: Vec<String> = field_violations(status)
                    .into_iter()
                    .map(|(f, _)| f)
                    .collect();
                (!fields.iter().any(|f| f == field)).then(|| {
                    format!(
                        "INVALID_ARGUMENT names {fields:?}, not `{field}` ({})",
                        status.message()
                    )
                })
            }
            (Expect::Code(code), _) if code_of(result) == *code => None,
            (Expect::Rejected(field), Ok(replies)) => {
                let results: Vec<survey::SubmitResult> = replies
                    .iter()
                    .filter_map(|r| survey::BulkSubmitResponsesResponse::decode(r.as_slice()).ok())
                    .flat_map(|r| r.results)
                    .collect();
                let rejected = results.len() == 1
                    && results[0].outcome == survey::SubmitOutcome::Rejected as i32
                    && results[0].code == Code::InvalidArgument as i32
                    && results[0]
                        .field_violations
                        .iter()
                        .any(|v| v.field == *field);
                (!rejected)
                    .then(|| format!("expected one rejection naming `{field}`, got {results:?}"))
            }
            (_, Err(status)) => Some(format!(
                "expected {self:?}, got {:?} {}",
                status.code(),
                status.message()
            )),
            (_, Ok(_)) => Some(format!("expected {self:?}, got OK")),
        }
    }
}

impl Cases {
    fn new() -> Self {
        Self::default()
    }

    /// A request that must succeed (a method may have several).
    fn valid(mut self, request: &impl Message) -> Self {
        self.valid.push(Messages::one(request));
        self
    }

    fn valid_stream<M: Message>(mut self, requests: &[M]) -> Self {
        self.valid.push(Messages::stream(requests));
        self
    }

    /// The valid requests write: each service's audit trail must move.
    fn writes(mut self) -> Self {
        self.writes = true;
        self
    }

    /// INVALID_ARGUMENT naming `field`.
    fn invalid(mut self, what: &'static str, request: &impl Message, field: &'static str) -> Self {
        self.invalid.push(Bad {
            what,
            request: Messages::one(request),
            expect: Expect::Invalid(field),
        });
        self
    }

    fn invalid_stream<M: Message>(
        mut self,
        what: &'static str,
        requests: &[M],
        field: &'static str,
    ) -> Self {
        self.invalid.push(Bad {
            what,
            request: Messages::stream(requests),
            expect: Expect::Invalid(field),
        });
        self
    }

    /// Refused with `code`.
    fn fails(mut self, what: &'static str, request: &impl Message, code: Code) -> Self {
        self.invalid.push(Bad {
            what,
            request: Messages::one(request),
            expect: Expect::Code(code),
        });
        self
    }

    fn fails_stream<M: Message>(mut self, what: &'static str, requests: &[M], code: Code) -> Self {
        self.invalid.push(Bad {
            what,
            request: Messages::stream(requests),
            expect: Expect::Code(code),
        });
        self
    }

    /// A bulk submission answered with one result rejecting its response, naming `field`.
    fn rejected_in_results(
        mut self,
        what: &'static str,
        requests: &[survey::BulkSubmitResponsesRequest],
        field: &'static str,
    ) -> Self {
        self.invalid.push(Bad {
            what,
            request: Messages::stream(requests),
            expect: Expect::Rejected(field),
        });
        self
    }

    /// The method takes nothing a caller could get wrong.
    fn takes_no_input(mut self, reason: &'static str) -> Self {
        self.no_input_reason = Some(reason);
        self
    }
}
