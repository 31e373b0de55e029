//! Importing and reading the hierarchy.

use shequ_proto::common::v1 as common;
use shequ_proto::registry::v1 as pb;
use shequ_testkit::TestService;
use shequ_testkit::fixtures::{self, SAMPLE, SAMPLE_LEAF_UNITS};
use tonic::Code;

use crate::assert_violation;

fn raw_import(
    vintage: &str,
    files: &[(pb::DivisionFile, &str)],
) -> Vec<pb::ImportDivisionsRequest> {
    files
        .iter()
        .enumerate()
        .map(|(i, (file, text))| pb::ImportDivisionsRequest {
            vintage: if i == 0 {
                vintage.to_owned()
            } else {
                String::new()
            },
            file: *file as i32,
            data: text.as_bytes().to_vec(),
            ..Default::default()
        })
        .collect()
}

#[tokio::test]
async fn import_reports_counts_and_a_reimport_changes_nothing() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    let first = fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();
    let rows: Vec<i64> = first.files.iter().map(|f| f.rows).collect();
    assert_eq!(rows, [2, 2, 2, 42, SAMPLE_LEAF_UNITS]);
    assert_eq!(
        (first.inserted, first.updated, first.unchanged),
        (984, 0, 0)
    );

    let again = fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();
    assert_eq!(
        (
            again.inserted,
            again.updated,
            again.unchanged,
            again.retired
        ),
        (0, 0, 984, 0)
    );

    // A new vintage of the same codes updates every row's vintage.
    let newer = fixtures::import(&mut client, &SAMPLE, "2024")
        .await
        .unwrap();
    assert_eq!((newer.inserted, newer.updated), (0, 984));
    let d = client
        .get_division(pb::GetDivisionRequest {
            name: "divisions/110101".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.division.unwrap().vintage, "2024");
}

#[tokio::test]
async fn parent_links_come_from_the_data() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();

    // 仙桃市 hangs under the province-administered group 4290, not under a city its digits suggest.
    let xiantao = client
        .get_division(pb::GetDivisionRequest {
            name: "divisions/429004".into(),
        })
        .await
        .unwrap();
    let xiantao = xiantao.into_inner().division.unwrap();
    assert_eq!(xiantao.display_name, "仙桃市");
    assert_eq!(xiantao.parent, "divisions/429000000000");
    assert_eq!(xiantao.level, common::DivisionLevel::County as i32);

    let village = client
        .list_divisions(pb::ListDivisionsRequest {
            parent: "divisions/429004001".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .divisions
        .remove(0);
    let ancestors = client
        .list_division_ancestors(pb::ListDivisionAncestorsRequest {
            name: village.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .ancestors;
    let codes: Vec<&str> = ancestors.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "420000000000",
            "429000000000",
            "429004000000",
            "429004001000"
        ]
    );

    let provinces = client
        .list_divisions(pb::ListDivisionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .divisions;
    let names: Vec<&str> = provinces.iter().map(|p| p.display_name.as_str()).collect();
    assert_eq!(names, ["北京市", "湖北省"]);
}

#[tokio::test]
async fn children_page_without_gaps_or_repeats() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_divisions(pb::ListDivisionsRequest {
                parent: "divisions/110101".into(),
                page_size: 5,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.divisions.len() <= 5);
        seen.extend(page.divisions.into_iter().map(|d| d.code));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
    assert_eq!(seen.len(), 17, "东城区 has 17 streets");

    // A token is bound to its query.
    let foreign = token_for_first_page(&mut client).await;
    let err = client
        .list_divisions(pb::ListDivisionsRequest {
            parent: "divisions/429004".into(),
            page_token: foreign,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "page_token");
}

async fn token_for_first_page(
    client: &mut pb::division_service_client::DivisionServiceClient<tonic::transport::Channel>,
) -> String {
    client
        .list_divisions(pb::ListDivisionsRequest {
            parent: "divisions/110101".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .next_page_token
}

#[tokio::test]
async fn counts_search_and_kind_override() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();

    let count = |name: &str| pb::CountLeafUnitsRequest { name: name.into() };
    let dongcheng = client
        .count_leaf_units(count("divisions/110101"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dongcheng.total, 169);
    assert_eq!(
        dongcheng.communities, 169,
        "every unit of 东城区 is a residents' committee"
    );
    let xiantao = client
        .count_leaf_units(count("divisions/42"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(xiantao.total, 767);
    assert_eq!(xiantao.communities + xiantao.villages, 767);
    assert!(
        xiantao.villages > 600,
        "仙桃市 is mostly rural: {xiantao:?}"
    );

    let found = client
        .search_divisions(pb::SearchDivisionsRequest {
            query: "东华门".into(),
            parent: "divisions/11".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .divisions;
    assert!(
        found.iter().any(|d| d.display_name == "东华门街道"),
        "{found:?}"
    );
    let err = client
        .search_divisions(pb::SearchDivisionsRequest::default())
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "query");

    // Override a village to a community; a re-import keeps the override.
    let village = client
        .search_divisions(pb::SearchDivisionsRequest {
            query: "村".into(),
            parent: "divisions/429004".into(),
            level: common::DivisionLevel::Village as i32,
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .divisions
        .remove(0);
    assert_eq!(village.leaf_unit_kind, common::LeafUnitKind::Village as i32);
    let updated = client
        .update_division(pb::UpdateDivisionRequest {
            division: Some(pb::Division {
                name: village.name.clone(),
                leaf_unit_kind: common::LeafUnitKind::Community as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["leaf_unit_kind".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .division
        .unwrap();
    assert!(updated.leaf_unit_kind_overridden);
    fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();
    let after = client
        .get_division(pb::GetDivisionRequest { name: village.name })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        after.division.unwrap().leaf_unit_kind,
        common::LeafUnitKind::Community as i32
    );
    let xiantao_after = client
        .count_leaf_units(count("divisions/429004"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(xiantao_after.communities, xiantao.communities + 1);

    let err = client
        .update_division(pb::UpdateDivisionRequest {
            division: Some(pb::Division {
                name: "divisions/110101".into(),
                leaf_unit_kind: 1,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["leaf_unit_kind".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "division.name");
}

#[tokio::test]
async fn malformed_rows_refuse_the_whole_import_with_line_numbers() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();
    let villages = "code,name,streetCode,provinceCode,cityCode,areaCode\n\
        110101001901,\"新一社区\",110101001,11,1101,110101\n\
        11010100190,\"短码\",110101001,11,1101,110101\n\
        110101001902,\"无父\",110101999,11,1101,110101\n\
        110101001903,\"错省\",110101001,12,1101,110101\n\
        110101001904,,110101001,11,1101,110101\n";
    let err = client
        .import_divisions(tokio_stream::iter(raw_import(
            "2023",
            &[(pb::DivisionFile::Villages, villages)],
        )))
        .await
        .unwrap_err();
    for field in [
        "villages.csv:3",
        "villages.csv:4",
        "villages.csv:5",
        "villages.csv:6",
    ] {
        assert_violation(&err, Code::InvalidArgument, field);
    }
    // The valid first row was not stored either.
    let missing = client
        .get_division(pb::GetDivisionRequest {
            name: "divisions/110101001901".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let count = client
        .count_leaf_units(pb::CountLeafUnitsRequest {
            name: "divisions/110101".into(),
        })
        .await
        .unwrap();
    assert_eq!(count.into_inner().total, 169);

    // A missing vintage and a header without the parent column are refused too.
    let err = client
        .import_divisions(tokio_stream::iter(raw_import(
            "",
            &[(pb::DivisionFile::Provinces, "code,name\n11,x\n")],
        )))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "vintage");
    // The vintage is trimmed text: white space alone is refused, a padded one comes back trimmed,
    // and its limit counts characters.
    let provinces = [(pb::DivisionFile::Provinces, "code,name\n11,北京市\n")];
    for vintage in ["\u{3000} ".to_owned(), "年".repeat(65)] {
        let err = client
            .import_divisions(tokio_stream::iter(raw_import(&vintage, &provinces)))
            .await
            .unwrap_err();
        assert_violation(&err, Code::InvalidArgument, "vintage");
    }
    let mut requests = raw_import(&format!("\u{3000}{} ", "年".repeat(64)), &provinces);
    requests[0].validate_only = true;
    let checked = client
        .import_divisions(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(checked.vintage, "年".repeat(64));
    let err = client
        .import_divisions(tokio_stream::iter(raw_import(
            "2023",
            &[(pb::DivisionFile::Cities, "code,name\n1101,x\n")],
        )))
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "cities.csv:1");
}

#[tokio::test]
async fn validate_only_stores_nothing_and_retire_marks_what_is_gone() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    let mut requests = fixtures::import_requests(&SAMPLE, "2023", 1 << 20);
    requests[0].validate_only = true;
    let dry = client
        .import_divisions(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    assert!(dry.validate_only);
    assert_eq!(dry.inserted, 984);
    let err = client
        .get_division(pb::GetDivisionRequest {
            name: "divisions/11".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    fixtures::import(&mut client, &SAMPLE, "2023")
        .await
        .unwrap();
    // A newer vintage of Beijing alone, where one street and its communities are gone.
    let beijing = [
        (pb::DivisionFile::Provinces, "code,name\n11,\"北京市\"\n"),
        (
            pb::DivisionFile::Cities,
            "code,name,provinceCode\n1101,\"市辖区\",11\n",
        ),
        (
            pb::DivisionFile::Areas,
            "code,name,cityCode,provinceCode\n110101,\"东城区\",1101,11\n",
        ),
        (
            pb::DivisionFile::Streets,
            "code,name,areaCode,provinceCode,cityCode\n110101001,\"东华门街道\",110101,11,1101\n",
        ),
        (
            pb::DivisionFile::Villages,
            "code,name,streetCode,provinceCode,cityCode,areaCode,kind\n110101001001,\"多福巷社区居委会\",110101001,11,1101,110101,community\n",
        ),
    ];
    let mut requests = raw_import("2024", &beijing);
    requests[0].retire_missing = true;
    let report = client
        .import_divisions(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.updated, 5);
    // Everything else under Beijing is retired; Hubei is untouched.
    assert_eq!(
        report.retired,
        189 - 5,
        "东城区 had 1 + 1 + 1 + 17 + 169 rows"
    );
    let gone = client
        .get_division(pb::GetDivisionRequest {
            name: "divisions/110101002".into(),
        })
        .await
        .unwrap();
    assert!(gone.into_inner().division.unwrap().retired);
    let beijing_count = client
        .count_leaf_units(pb::CountLeafUnitsRequest {
            name: "divisions/11".into(),
        })
        .await
        .unwrap();
    assert_eq!(beijing_count.into_inner().total, 1);
    let hubei_count = client
        .count_leaf_units(pb::CountLeafUnitsRequest {
            name: "divisions/42".into(),
        })
        .await
        .unwrap();
    assert_eq!(hubei_count.into_inner().total, 767);
}

#[tokio::test]
async fn malformed_names_and_unknown_divisions() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    let err = client
        .get_division(pb::GetDivisionRequest { name: "11".into() })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "name");
    let err = client
        .get_division(pb::GetDivisionRequest {
            name: "divisions/1101011".into(),
        })
        .await
        .unwrap_err();
    assert_violation(&err, Code::InvalidArgument, "name");
    let err = client
        .get_division(pb::GetDivisionRequest {
            name: "divisions/99".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .count_leaf_units(pb::CountLeafUnitsRequest {
            name: "divisions/99".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn a_unit_published_at_two_levels_is_one_division() {
    let registry = TestService::registry().await.unwrap();
    let mut client = registry.divisions().await.unwrap();
    // As in the national data: 东莞市 is both city 4419 and area 441900; 金门县 is area 350527,
    // street 350527000 and village 350527000000. Their codes pad to the same 12 digits.
    let files = [
        (
            pb::DivisionFile::Provinces,
            "code,name\n35,\"福建省\"\n44,\"广东省\"\n",
        ),
        (
            pb::DivisionFile::Cities,
            "code,name,provinceCode\n3505,\"泉州市\",35\n4419,\"东莞市\",44\n",
        ),
        (
            pb::DivisionFile::Areas,
            "code,name,cityCode,provinceCode\n350527,\"金门县\",3505,35\n441900,\"东莞市\",4419,44\n",
        ),
        (
            pb::DivisionFile::Streets,
            "code,name,areaCode,provinceCode,cityCode\n350527000,\"金门县\",350527,35,3505\n441900003,\"东城街道\",441900,44,4419\n",
        ),
        (
            pb::DivisionFile::Villages,
            "code,name,streetCode,provinceCode,cityCode,areaCode\n\
             350527000000,\"金门县\",350527000,35,3505,350527\n\
             441900003001,\"花园社区居委会\",441900003,44,4419,441900\n",
        ),
    ];
    let report = client
        .import_divisions(tokio_stream::iter(raw_import("2023", &files)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.merged, 3);
    assert_eq!(report.inserted, 7);

    let get = |name: &str| pb::GetDivisionRequest { name: name.into() };
    let dongguan = client
        .get_division(get("divisions/4419"))
        .await
        .unwrap()
        .into_inner()
        .division
        .unwrap();
    assert_eq!(
        dongguan.level,
        common::DivisionLevel::County as i32,
        "the deeper record is kept"
    );
    assert_eq!(dongguan.parent, "divisions/440000000000");
    let kinmen = client
        .get_division(get("divisions/350527"))
        .await
        .unwrap()
        .into_inner()
        .division
        .unwrap();
    assert_eq!(
        kinmen.level,
        common::DivisionLevel::Village as i32,
        "every leaf unit survives"
    );
    assert_eq!(kinmen.parent, "divisions/350500000000");
    for (name, total) in [("divisions/44", 1), ("divisions/3505", 1), ("", 2)] {
        let count = client
            .count_leaf_units(pb::CountLeafUnitsRequest { name: name.into() })
            .await
            .unwrap();
        assert_eq!(count.into_inner().total, total, "{name}");
    }
    let again = client
        .import_divisions(tokio_stream::iter(raw_import("2023", &files)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 7));
}
