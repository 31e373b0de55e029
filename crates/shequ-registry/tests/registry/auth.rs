//! Authentication and authorization of the registry: bad tokens of each kind, roles per RPC, the
//! matrix of principals × operations × regions (inside, outside, ancestor, sibling, county-level
//! units under a province, and a unit whose code digits point elsewhere than its parent link),
//! key rotation, the audit trail, and development mode on PostgreSQL.

use futures::StreamExt;
use shequ_proto::audit::v1 as audit;
use shequ_proto::audit::v1::audit_service_client::AuditServiceClient;
use shequ_proto::registry::v1 as pb;
use shequ_testkit::fixtures;
use shequ_testkit::{
    AuthWorld, Registry, TestAlgorithm, TestDatabase, TestIssuer, TestService, registry_config,
    with_token,
};
use tonic::Code;

const NATIONAL: &str = "000000000000";
const DONGCHENG: &str = "110101";
const DONGCHENG_STREET: &str = "110101001";
const DONGCHENG_OTHER_STREET: &str = "110101002";
const HUBEI: &str = "42";
const HUBEI_GROUP: &str = "4290";
const XIANTAO: &str = "429004";
const JINGZHOU: &str = "4210";

const COMMUNITY_IN_STREET: &str = "divisions/110101001001";
const COMMUNITY_IN_OTHER_STREET: &str = "divisions/110101002001";
const XIANTAO_COMMUNITY: &str = "divisions/429004001001";
/// A community of a county whose code says 荆州 (4210) but whose parent link is the
/// province-administered group 4290.
const MISFILED_COMMUNITY: &str = "divisions/421099001001";

/// A county-level unit whose digits name 荆州市 while the data hangs it under 4290.
fn misfiled_slice() -> Vec<pb::ImportDivisionsRequest> {
    let files: [(pb::DivisionFile, &str); 5] = [
        (pb::DivisionFile::Provinces, "code,name\n42,\"湖北省\"\n"),
        (
            pb::DivisionFile::Cities,
            "code,name,provinceCode\n4210,\"荆州市\",42\n4290,\"省直辖县级行政区划\",42\n",
        ),
        (
            pb::DivisionFile::Areas,
            "code,name,cityCode,provinceCode\n421099,\"示例市\",4290,42\n",
        ),
        (
            pb::DivisionFile::Streets,
            "code,name,areaCode,provinceCode,cityCode\n421099001,\"示例街道\",421099,42,4290\n",
        ),
        (
            pb::DivisionFile::Villages,
            "code,name,streetCode,provinceCode,cityCode,areaCode\n421099001001,\"示例社区居委会\",421099001,42,4290,421099\n",
        ),
    ];
    files
        .iter()
        .enumerate()
        .map(|(i, (file, text))| pb::ImportDivisionsRequest {
            vintage: if i == 0 { "2023".into() } else { String::new() },
            file: *file as i32,
            data: text.as_bytes().to_vec(),
            ..Default::default()
        })
        .collect()
}

struct World {
    registry: TestService<Registry>,
    auth: AuthWorld,
    /// Facility names: in 东城 street 001, in 东城 street 002, in 仙桃, in the misfiled county.
    in_street: String,
    in_other_street: String,
    in_xiantao: String,
    in_misfiled: String,
}

impl World {
    async fn new() -> Self {
        let auth = AuthWorld::new().unwrap();
        let registry = auth.registry_with_sample().await.unwrap();
        let admin = auth.registry_editor();
        registry
            .divisions()
            .await
            .unwrap()
            .import_divisions(with_token(tokio_stream::iter(misfiled_slice()), &admin))
            .await
            .unwrap();
        let mut world = Self {
            registry,
            auth,
            in_street: String::new(),
            in_other_street: String::new(),
            in_xiantao: String::new(),
            in_misfiled: String::new(),
        };
        world.in_street = world.create(&admin, COMMUNITY_IN_STREET).await.unwrap();
        world.in_other_street = world
            .create(&admin, COMMUNITY_IN_OTHER_STREET)
            .await
            .unwrap();
        world.in_xiantao = world.create(&admin, XIANTAO_COMMUNITY).await.unwrap();
        world.in_misfiled = world.create(&admin, MISFILED_COMMUNITY).await.unwrap();
        world
    }

    fn token(&self, roles: &[&str], divisions: &[&str]) -> String {
        let divisions = twelve_digits(divisions);
        let divisions: Vec<&str> = divisions.iter().map(String::as_str).collect();
        self.auth.issuer.token("official", roles, &divisions)
    }

    async fn create(&self, token: &str, leaf: &str) -> Result<String, tonic::Status> {
        let mut client = self.registry.facilities().await.unwrap();
        let created = client
            .create_facility(with_token(
                pb::CreateFacilityRequest {
                    facility: Some(fixtures::facility(leaf)),
                    reason: "opened".into(),
                    ..Default::default()
                },
                token,
            ))
            .await?;
        Ok(created.into_inner().facility.unwrap().name)
    }

    async fn get(&self, token: &str, name: &str) -> Result<pb::Facility, tonic::Status> {
        let mut client = self.registry.facilities().await.unwrap();
        let response = client
            .get_facility(with_token(
                pb::GetFacilityRequest {
                    name: name.into(),
                    show_deleted: false,
                },
                token,
            ))
            .await?;
        Ok(response.into_inner().facility.unwrap())
    }

    async fn rename(&self, token: &str, name: &str) -> Result<pb::Facility, tonic::Status> {
        self.rename_to(token, name, "新名称").await
    }

    async fn rename_to(
        &self,
        token: &str,
        name: &str,
        display_name: &str,
    ) -> Result<pb::Facility, tonic::Status> {
        let mut client = self.registry.facilities().await.unwrap();
        let response = client
            .update_facility(with_token(
                pb::UpdateFacilityRequest {
                    facility: Some(pb::Facility {
                        name: name.into(),
                        display_name: display_name.into(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["display_name".into()],
                    }),
                    reason: "renamed".into(),
                },
                token,
            ))
            .await?;
        Ok(response.into_inner().facility.unwrap())
    }

    async fn list(&self, token: &str, parent: &str) -> Result<Vec<String>, tonic::Status> {
        let mut client = self.registry.facilities().await.unwrap();
        let response = client
            .list_facilities(with_token(
                pb::ListFacilitiesRequest {
                    parent: format!("divisions/{parent}"),
                    page_size: 100,
                    ..Default::default()
                },
                token,
            ))
            .await?;
        let mut names: Vec<String> = response
            .into_inner()
            .facilities
            .into_iter()
            .map(|f| f.name)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn division(&self, token: &str, code: &str) -> Result<pb::Division, tonic::Status> {
        let mut client = self.registry.divisions().await.unwrap();
        let response = client
            .get_division(with_token(
                pb::GetDivisionRequest {
                    name: format!("divisions/{code}"),
                },
                token,
            ))
            .await?;
        Ok(response.into_inner().division.unwrap())
    }
}

/// Division codes as tokens carry them: 12 digits.
fn twelve_digits(codes: &[&str]) -> Vec<String> {
    codes
        .iter()
        .map(|c| {
            shequ_domain::DivisionCode::parse(c)
                .map(|c| c.to_string())
                .unwrap_or_else(|_| (*c).to_owned())
        })
        .collect()
}

fn code_of<T: std::fmt::Debug>(result: &Result<T, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

fn sorted(names: &[&String]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn principals_act_only_inside_their_divisions() {
    let w = World::new().await;
    let editor = |divisions: &[&str]| w.token(&["registry.editor"], divisions);
    let national = editor(&[NATIONAL]);
    let county = editor(&[DONGCHENG]);
    let street = editor(&[DONGCHENG_STREET]);
    let hubei = editor(&[HUBEI]);
    let group = editor(&[HUBEI_GROUP]);
    let xiantao = editor(&[XIANTAO]);
    let jingzhou = editor(&[JINGZHOU]);
    let two = editor(&[DONGCHENG_STREET, XIANTAO]);

    // (who, facility, expected) for reads and writes alike.
    let cases: Vec<(&str, &String, &String, Code)> = vec![
        ("national", &national, &w.in_street, Code::Ok),
        ("national", &national, &w.in_xiantao, Code::Ok),
        ("county, inside", &county, &w.in_street, Code::Ok),
        ("county, inside", &county, &w.in_other_street, Code::Ok),
        (
            "county, outside",
            &county,
            &w.in_xiantao,
            Code::PermissionDenied,
        ),
        ("street, inside", &street, &w.in_street, Code::Ok),
        (
            "street, sibling",
            &street,
            &w.in_other_street,
            Code::PermissionDenied,
        ),
        (
            "street, outside",
            &street,
            &w.in_xiantao,
            Code::PermissionDenied,
        ),
        (
            "province over a county-level unit",
            &hubei,
            &w.in_xiantao,
            Code::Ok,
        ),
        (
            "province, outside",
            &hubei,
            &w.in_street,
            Code::PermissionDenied,
        ),
        (
            "province-administered group",
            &group,
            &w.in_xiantao,
            Code::Ok,
        ),
        (
            "group over a misfiled county",
            &group,
            &w.in_misfiled,
            Code::Ok,
        ),
        (
            "digits alone would say inside",
            &jingzhou,
            &w.in_misfiled,
            Code::PermissionDenied,
        ),
        ("county-level unit", &xiantao, &w.in_xiantao, Code::Ok),
        (
            "county-level unit, outside",
            &xiantao,
            &w.in_misfiled,
            Code::PermissionDenied,
        ),
        ("two divisions", &two, &w.in_street, Code::Ok),
        ("two divisions", &two, &w.in_xiantao, Code::Ok),
        (
            "two divisions, sibling",
            &two,
            &w.in_other_street,
            Code::PermissionDenied,
        ),
    ];
    for (who, token, facility, expected) in &cases {
        let read = w.get(token, facility).await;
        assert_eq!(
            code_of(&read),
            *expected,
            "{who} reads {facility}: {read:?}"
        );
        let write = w.rename(token, facility).await;
        assert_eq!(
            code_of(&write),
            *expected,
            "{who} writes {facility}: {write:?}"
        );
    }

    // Outside the scope is PERMISSION_DENIED whether the facility exists or not; only a national
    // principal learns NOT_FOUND.
    let missing = "facilities/0190a000-0000-7000-8000-000000000000".to_owned();
    assert_eq!(
        code_of(&w.get(&county, &missing).await),
        Code::PermissionDenied
    );
    assert_eq!(code_of(&w.get(&national, &missing).await), Code::NotFound);

    // Divisions: the division itself or below, never an ancestor or a sibling.
    assert_eq!(
        code_of(&w.division(&street, DONGCHENG_STREET).await),
        Code::Ok
    );
    assert_eq!(
        code_of(&w.division(&street, "110101001001").await),
        Code::Ok
    );
    assert_eq!(
        code_of(&w.division(&street, DONGCHENG).await),
        Code::PermissionDenied,
        "ancestor"
    );
    assert_eq!(
        code_of(&w.division(&street, DONGCHENG_OTHER_STREET).await),
        Code::PermissionDenied,
        "sibling"
    );
    assert_eq!(
        code_of(&w.division(&county, "999999").await),
        Code::PermissionDenied,
        "unknown codes tell nothing"
    );
    assert_eq!(
        code_of(&w.division(&national, "999999").await),
        Code::NotFound
    );

    // Listings: under a division inside the scope everything; above it only what is inside;
    // beside it refused.
    assert_eq!(
        w.list(&county, DONGCHENG).await.unwrap(),
        sorted(&[&w.in_street, &w.in_other_street])
    );
    assert_eq!(
        w.list(&street, DONGCHENG_STREET).await.unwrap(),
        std::slice::from_ref(&w.in_street)
    );
    assert_eq!(
        w.list(&street, DONGCHENG).await.unwrap(),
        std::slice::from_ref(&w.in_street),
        "above the scope: filtered"
    );
    assert_eq!(
        code_of(&w.list(&street, XIANTAO).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.list(&street, DONGCHENG_OTHER_STREET).await),
        Code::PermissionDenied,
        "sibling"
    );
    assert_eq!(
        w.list(&group, HUBEI).await.unwrap(),
        sorted(&[&w.in_xiantao, &w.in_misfiled])
    );
    assert_eq!(
        w.list(&jingzhou, HUBEI).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        w.list(&national, HUBEI).await.unwrap(),
        sorted(&[&w.in_xiantao, &w.in_misfiled])
    );

    // Creating: the new facility's leaf unit decides.
    assert_eq!(
        code_of(&w.create(&street, COMMUNITY_IN_STREET).await),
        Code::Ok
    );
    assert_eq!(
        code_of(&w.create(&street, COMMUNITY_IN_OTHER_STREET).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.create(&jingzhou, MISFILED_COMMUNITY).await),
        Code::PermissionDenied
    );

    // The whole country needs national scope.
    let mut divisions = w.registry.divisions().await.unwrap();
    let count = divisions
        .count_leaf_units(with_token(pb::CountLeafUnitsRequest::default(), &county))
        .await;
    assert_eq!(code_of(&count), Code::PermissionDenied);
    let count = divisions
        .count_leaf_units(with_token(
            pb::CountLeafUnitsRequest {
                name: format!("divisions/{DONGCHENG}"),
            },
            &county,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(count.total, 169);
    let import = divisions
        .import_divisions(with_token(tokio_stream::iter(misfiled_slice()), &county))
        .await;
    assert_eq!(code_of(&import), Code::PermissionDenied);
    let provinces = divisions
        .list_divisions(with_token(pb::ListDivisionsRequest::default(), &hubei))
        .await
        .unwrap()
        .into_inner()
        .divisions;
    let codes: Vec<&str> = provinces.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        ["420000000000"],
        "only the province in scope is listed"
    );
}

#[tokio::test]
async fn every_rpc_checks_its_roles() {
    let w = World::new().await;
    let everywhere = [NATIONAL];
    let reader = w.token(&["registry.reader"], &everywhere);
    let auditor = w.token(&["auditor"], &everywhere);
    let service = w.token(&["service"], &everywhere);
    let collector = w.token(&["survey.collector", "plan.officer"], &everywhere);

    assert_eq!(code_of(&w.get(&reader, &w.in_street).await), Code::Ok);
    assert_eq!(code_of(&w.get(&service, &w.in_street).await), Code::Ok);
    assert_eq!(
        code_of(&w.get(&auditor, &w.in_street).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.get(&collector, &w.in_street).await),
        Code::PermissionDenied
    );
    for token in [&reader, &service, &auditor, &collector] {
        assert_eq!(
            code_of(&w.rename(token, &w.in_street).await),
            Code::PermissionDenied
        );
        assert_eq!(
            code_of(&w.create(token, COMMUNITY_IN_STREET).await),
            Code::PermissionDenied
        );
    }
    // The audit stream is the auditor's alone.
    let mut audit = AuditServiceClient::new(w.registry.channel().await.unwrap());
    let refused = audit
        .stream_audit_records(with_token(
            audit::StreamAuditRecordsRequest::default(),
            &reader,
        ))
        .await;
    assert_eq!(code_of(&refused), Code::PermissionDenied);
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let w = World::new().await;
    let claims = || TestIssuer::claims("official", &["registry.reader"], &[NATIONAL]);
    let set = |key: &str, value: serde_json::Value| {
        let mut c = claims();
        c[key] = value;
        c
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let valid_rs = w.auth.issuer.sign(TestAlgorithm::Rs256, &claims());
    let valid_es = w.auth.issuer.sign(TestAlgorithm::Es256, &claims());
    assert_eq!(code_of(&w.get(&valid_rs, &w.in_street).await), Code::Ok);
    assert_eq!(code_of(&w.get(&valid_es, &w.in_street).await), Code::Ok);

    let mut tampered = valid_rs.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (head, _) = valid_es.split_once('.').unwrap();
    let unsigned = format!("{head}.e30.");
    let bad: Vec<(&str, String)> = vec![
        ("malformed", "not-a-token".into()),
        ("tampered signature", tampered),
        ("unsigned", unsigned),
        ("forged", w.auth.issuer.forge(&claims())),
        (
            "expired",
            w.auth
                .issuer
                .sign(TestAlgorithm::Rs256, &set("exp", (now - 60).into())),
        ),
        (
            "not yet valid",
            w.auth
                .issuer
                .sign(TestAlgorithm::Rs256, &set("nbf", (now + 600).into())),
        ),
        (
            "wrong issuer",
            w.auth.issuer.sign(
                TestAlgorithm::Rs256,
                &set("iss", "https://elsewhere.test".into()),
            ),
        ),
        (
            "wrong audience",
            w.auth
                .issuer
                .sign(TestAlgorithm::Es256, &set("aud", "another".into())),
        ),
        (
            "no subject",
            w.auth
                .issuer
                .sign(TestAlgorithm::Rs256, &set("sub", "".into())),
        ),
        (
            "bad division",
            w.auth.issuer.sign(
                TestAlgorithm::Rs256,
                &set("divisions", serde_json::json!(["1101"])),
            ),
        ),
    ];
    for (what, token) in &bad {
        let result = w.get(token, &w.in_street).await;
        assert_eq!(
            code_of(&result),
            Code::Unauthenticated,
            "{what}: {result:?}"
        );
    }
    // No header at all, and a header of another scheme.
    let mut client = w.registry.facilities().await.unwrap();
    let request = || pb::GetFacilityRequest {
        name: w.in_street.clone(),
        show_deleted: false,
    };
    let missing = client.get_facility(request()).await;
    assert_eq!(code_of(&missing), Code::Unauthenticated);
    let mut basic = tonic::Request::new(request());
    basic
        .metadata_mut()
        .insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    assert_eq!(
        code_of(&client.get_facility(basic).await),
        Code::Unauthenticated
    );

    // Health stays open.
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(w.registry.channel().await.unwrap());
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serving.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn keys_rotate_without_a_restart() {
    let mut w = World::new().await;
    let claims = TestIssuer::claims("official", &["registry.reader"], &[NATIONAL]);
    let old = w.auth.issuer.sign(TestAlgorithm::Es256, &claims);
    assert_eq!(code_of(&w.get(&old, &w.in_street).await), Code::Ok);
    w.auth.issuer.rotate_ec_key("ec-2").unwrap();
    let new = w.auth.issuer.sign(TestAlgorithm::Es256, &claims);
    // The key file is looked at again at most once a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let result = w.get(&new, &w.in_street).await;
        if result.is_ok() {
            break;
        }
        assert_eq!(code_of(&result), Code::Unauthenticated);
        assert!(
            std::time::Instant::now() < deadline,
            "new key never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        code_of(&w.get(&old, &w.in_street).await),
        Code::Unauthenticated,
        "the retired key no longer verifies"
    );
}

#[tokio::test]
async fn writes_are_audited_with_their_principal() {
    let w = World::new().await;
    let own = twelve_digits(&[DONGCHENG_STREET]);
    let street = w
        .auth
        .issuer
        .token("street-official", &["registry.editor"], &[own[0].as_str()]);
    let auditor = w.token(&["auditor"], &[NATIONAL]);
    w.rename(&street, &w.in_street).await.unwrap();
    // A refused write leaves no trace.
    assert!(w.rename(&street, &w.in_xiantao).await.is_err());

    let mut audit = AuditServiceClient::new(w.registry.channel().await.unwrap());
    let records: Vec<audit::AuditRecord> = audit
        .stream_audit_records(with_token(
            audit::StreamAuditRecordsRequest::default(),
            &auditor,
        ))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().record.unwrap())
        .collect()
        .await;
    // Two imports and four facilities by `official`, then the rename.
    let actions: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.subject.as_str(), r.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("admin", "imported"),
            ("admin", "imported"),
            ("admin", "created"),
            ("admin", "created"),
            ("admin", "created"),
            ("admin", "created"),
            ("street-official", "updated"),
        ]
    );
    let rename = records.last().unwrap();
    assert_eq!(rename.resource, w.in_street);
    assert_eq!(rename.division, COMMUNITY_IN_STREET);
    assert_eq!(
        rename.method,
        "/shequ.registry.v1.FacilityService/UpdateFacility"
    );
    assert_eq!(rename.principal_kind, audit::PrincipalKind::Token as i32);
    assert_eq!(rename.roles, ["registry.editor"]);
    assert_eq!(rename.reason, "renamed");
    assert!(records.windows(2).all(|p| p[0].position < p[1].position));

    // The history names the same principal.
    let mut facilities = w.registry.facilities().await.unwrap();
    let revisions = facilities
        .list_facility_revisions(with_token(
            pb::ListFacilityRevisionsRequest {
                name: w.in_street.clone(),
                ..Default::default()
            },
            &auditor,
        ))
        .await;
    assert_eq!(
        code_of(&revisions),
        Code::PermissionDenied,
        "auditors read the trail only"
    );
    let reader = w.token(&["registry.reader"], &[NATIONAL]);
    let revisions = facilities
        .list_facility_revisions(with_token(
            pb::ListFacilityRevisionsRequest {
                name: w.in_street.clone(),
                ..Default::default()
            },
            &reader,
        ))
        .await
        .unwrap()
        .into_inner()
        .revisions;
    assert_eq!(revisions.last().unwrap().actor, "street-official");

    // Resuming after a position, then following a new write.
    let from = records[5].position;
    let mut follow = audit
        .stream_audit_records(with_token(
            audit::StreamAuditRecordsRequest {
                after_position: from,
                follow: true,
            },
            &auditor,
        ))
        .await
        .unwrap()
        .into_inner();
    let next = follow.next().await.unwrap().unwrap().record.unwrap();
    assert_eq!(next.position, rename.position);
    // A write that changes something (renaming to the same name changes nothing).
    w.rename_to(&street, &w.in_street, "再次更名")
        .await
        .unwrap();
    let live = follow.next().await.unwrap().unwrap().record.unwrap();
    assert!(live.position > rename.position);
    assert_eq!(live.subject, "street-official");
}

#[tokio::test]
async fn development_mode_is_refused_on_postgres_unless_forced() {
    let database = TestDatabase::fresh().await.unwrap();
    let mut cfg = registry_config(database.url()).unwrap();
    cfg.auth.allow_off_with_postgres = false;
    shequ_testkit::assert_development_mode_refused_on_postgres::<Registry>(database, cfg).await;
}

/// Creates a facility at `leaf` with `request_id`, as `token` (or, without one, in development
/// mode as `actor`).
async fn create_keyed(
    registry: &TestService<Registry>,
    token: Option<&str>,
    leaf: &str,
    request_id: &str,
    display_name: &str,
) -> Result<pb::Facility, tonic::Status> {
    let mut facility = fixtures::facility(leaf);
    facility.display_name = display_name.into();
    let message = pb::CreateFacilityRequest {
        facility: Some(facility),
        request_id: request_id.into(),
        reason: "opened".into(),
    };
    let request = match token {
        Some(token) => with_token(message, token),
        None => tonic::Request::new(message),
    };
    Ok(registry
        .facilities()
        .await
        .unwrap()
        .create_facility(request)
        .await?
        .into_inner()
        .facility
        .unwrap())
}

/// A batch of creations at `leaves` with `request_ids`, as `token`.
async fn batch_keyed(
    registry: &TestService<Registry>,
    token: &str,
    items: &[(&str, &str, &str)],
) -> Result<Vec<pb::Facility>, tonic::Status> {
    let requests = items
        .iter()
        .map(|(leaf, request_id, display_name)| {
            let mut facility = fixtures::facility(leaf);
            facility.display_name = (*display_name).into();
            pb::CreateFacilityRequest {
                facility: Some(facility),
                request_id: (*request_id).into(),
                reason: String::new(),
            }
        })
        .collect();
    Ok(registry
        .facilities()
        .await
        .unwrap()
        .batch_create_facilities(with_token(
            pb::BatchCreateFacilitiesRequest {
                parent: String::new(),
                requests,
            },
            token,
        ))
        .await?
        .into_inner()
        .facilities)
}

/// Everything a status says: its message and each field violation.
fn said(status: &tonic::Status) -> String {
    let mut text = status.message().to_owned();
    for (field, description) in shequ_platform::status::field_violations(status) {
        text.push_str(&format!("\n{field}: {description}"));
    }
    text
}

/// A request id belongs to the principal that sent it (AIP-155): the same key from a principal
/// of another region is a new key, creating that principal's own facility, and nothing anyone
/// is told names the other's facility. Retries by each principal still return its own facility.
#[tokio::test]
async fn request_ids_belong_to_their_principal() {
    use shequ_testkit::fixtures::{
        NINGXIA, NINGXIA_COMMUNITY, TIANJIN, TIANJIN_COMMUNITY, TIANJIN_NINGXIA,
    };
    let auth = AuthWorld::new().unwrap();
    let issuer = &auth.issuer;
    let registry = auth.registry().await.unwrap();
    let admin = auth.registry_editor();
    registry
        .divisions()
        .await
        .unwrap()
        .import_divisions(with_token(
            tokio_stream::iter(fixtures::import_requests(&TIANJIN_NINGXIA, "2023", 1024)),
            &admin,
        ))
        .await
        .unwrap();
    let ningxia = issuer.token("ningxia-editor", &["registry.editor"], &[NINGXIA]);
    let tianjin = issuer.token("tianjin-editor", &["registry.editor"], &[TIANJIN]);
    let other_tianjin = issuer.token("tianjin-deputy", &["registry.editor"], &[TIANJIN]);

    let theirs = create_keyed(
        &registry,
        Some(&ningxia),
        NINGXIA_COMMUNITY,
        "key-1",
        "宁夏中心",
    )
    .await
    .unwrap();
    let hidden = theirs.name.trim_start_matches("facilities/").to_owned();
    let ours = create_keyed(
        &registry,
        Some(&tianjin),
        TIANJIN_COMMUNITY,
        "key-1",
        "天津中心",
    )
    .await
    .unwrap();
    assert_ne!(ours.name, theirs.name);
    assert_eq!(ours.leaf_unit, TIANJIN_COMMUNITY);
    // Each principal's retry returns its own facility.
    let retried = create_keyed(
        &registry,
        Some(&tianjin),
        TIANJIN_COMMUNITY,
        "key-1",
        "天津中心",
    )
    .await
    .unwrap();
    assert_eq!(retried.name, ours.name);
    let retried = create_keyed(
        &registry,
        Some(&ningxia),
        NINGXIA_COMMUNITY,
        "key-1",
        "宁夏中心",
    )
    .await
    .unwrap();
    assert_eq!(retried.name, theirs.name);
    // Another body under one's own key names one's own facility only.
    let err = create_keyed(
        &registry,
        Some(&tianjin),
        TIANJIN_COMMUNITY,
        "key-1",
        "改了",
    )
    .await
    .unwrap_err();
    crate::assert_violation(&err, Code::AlreadyExists, "request_id");
    assert!(said(&err).contains(&ours.name), "{err:?}");
    assert!(!said(&err).contains(&hidden), "{err:?}");
    // Another principal of the same region has keys of its own too.
    let deputy = create_keyed(
        &registry,
        Some(&other_tianjin),
        TIANJIN_COMMUNITY,
        "key-1",
        "改了",
    )
    .await
    .unwrap();
    assert_ne!(deputy.name, ours.name);

    // Batches: the same keys, scoped the same way.
    let theirs_batch = batch_keyed(
        &registry,
        &ningxia,
        &[
            (NINGXIA_COMMUNITY, "batch-1", "宁夏一"),
            (NINGXIA_COMMUNITY, "batch-2", "宁夏二"),
        ],
    )
    .await
    .unwrap();
    let ours_batch = batch_keyed(
        &registry,
        &tianjin,
        &[
            (TIANJIN_COMMUNITY, "batch-1", "天津一"),
            (TIANJIN_COMMUNITY, "batch-2", "天津二"),
        ],
    )
    .await
    .unwrap();
    for (ours, theirs) in ours_batch.iter().zip(&theirs_batch) {
        assert_ne!(ours.name, theirs.name);
        assert_eq!(ours.leaf_unit, TIANJIN_COMMUNITY);
    }
    let again = batch_keyed(
        &registry,
        &tianjin,
        &[
            (TIANJIN_COMMUNITY, "batch-1", "天津一"),
            (TIANJIN_COMMUNITY, "batch-2", "天津二"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(again, ours_batch);
    let err = batch_keyed(
        &registry,
        &tianjin,
        &[(TIANJIN_COMMUNITY, "batch-2", "改了")],
    )
    .await
    .unwrap_err();
    crate::assert_violation(&err, Code::AlreadyExists, "requests[0].request_id");
    assert!(said(&err).contains(&ours_batch[1].name), "{err:?}");
    for theirs in theirs_batch.iter().chain([&theirs]) {
        let id = theirs.name.trim_start_matches("facilities/");
        assert!(!said(&err).contains(id), "{err:?}");
    }
    // Single creations and batches share each principal's keys: 宁夏's `key-1` with another
    // body is refused naming 宁夏's own facility.
    let err = batch_keyed(
        &registry,
        &ningxia,
        &[(NINGXIA_COMMUNITY, "key-1", "天津中心")],
    )
    .await
    .unwrap_err();
    crate::assert_violation(&err, Code::AlreadyExists, "requests[0].request_id");
    assert!(said(&err).contains(&theirs.name), "{err:?}");
    assert!(!said(&err).contains(&ours.name), "{err:?}");
}

/// In development mode every caller is the same development principal, so a key is shared by
/// every actor, as it always was.
#[tokio::test]
async fn development_mode_shares_request_ids() {
    use shequ_testkit::fixtures::{TIANJIN_COMMUNITY, TIANJIN_NINGXIA};
    let registry = TestService::registry().await.unwrap();
    fixtures::import(
        &mut registry.divisions().await.unwrap(),
        &TIANJIN_NINGXIA,
        "2023",
    )
    .await
    .unwrap();
    let first = create_keyed(&registry, None, TIANJIN_COMMUNITY, "shared", "天津中心")
        .await
        .unwrap();
    let mut facility = fixtures::facility(TIANJIN_COMMUNITY);
    facility.display_name = "天津中心".into();
    let mut request = tonic::Request::new(pb::CreateFacilityRequest {
        facility: Some(facility),
        request_id: "shared".into(),
        reason: "opened".into(),
    });
    request
        .metadata_mut()
        .insert("x-shequ-actor", "another-official".parse().unwrap());
    let again = registry
        .facilities()
        .await
        .unwrap()
        .create_facility(request)
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(again.name, first.name);
    let err = create_keyed(&registry, None, TIANJIN_COMMUNITY, "shared", "改了")
        .await
        .unwrap_err();
    crate::assert_violation(&err, Code::AlreadyExists, "request_id");
    assert!(said(&err).contains(&first.name), "{err:?}");
}

/// The contact telephone goes through create, update by mask, reads, listings, history and the
/// change feed; readers without a contact role see it masked everywhere, and a bad number is
/// refused by name.
#[tokio::test]
async fn contact_telephones_are_shown_only_to_contact_readers() {
    let world = World::new().await;
    let editor = world.token(&["registry.editor"], &[DONGCHENG]);
    let reader = world.token(&["registry.reader"], &[DONGCHENG]);
    let service = world.token(&["service"], &[NATIONAL]);
    let national_reader = world.token(&["registry.reader"], &[NATIONAL]);
    let mut client = world.registry.facilities().await.unwrap();

    let mut facility = fixtures::facility(COMMUNITY_IN_STREET);
    facility.contact_telephone = " 010-6512 3456 ".into();
    let created = client
        .create_facility(with_token(
            pb::CreateFacilityRequest {
                facility: Some(facility),
                reason: "opened".into(),
                ..Default::default()
            },
            &editor,
        ))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(created.contact_telephone, "010-6512 3456");
    let name = created.name.clone();

    let update = |telephone: &str, token: &str| {
        with_token(
            pb::UpdateFacilityRequest {
                facility: Some(pb::Facility {
                    name: name.clone(),
                    contact_telephone: telephone.into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["contact_telephone".into()],
                }),
                reason: "new number".into(),
            },
            token,
        )
    };
    let refused = client
        .update_facility(update("010-6512 3456 转 801", &editor))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        shequ_platform::status::field_violations(&refused)
            .into_iter()
            .map(|(field, _)| field)
            .collect::<Vec<_>>(),
        ["facility.contact_telephone"]
    );
    let updated = client
        .update_facility(update("+86 138 0013 8000", &editor))
        .await
        .unwrap()
        .into_inner()
        .facility
        .unwrap();
    assert_eq!(updated.contact_telephone, "+86 138 0013 8000");
    assert_eq!(updated.revision, 2);

    for (token, expected) in [
        (&editor, "+86 138 0013 8000"),
        (&service, "+86 138 0013 8000"),
        (&reader, "+** *** **** 8000"),
    ] {
        assert_eq!(
            world.get(token, &name).await.unwrap().contact_telephone,
            expected
        );
        let listed = client
            .list_facilities(with_token(
                pb::ListFacilitiesRequest {
                    parent: COMMUNITY_IN_STREET.into(),
                    page_size: 100,
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .facilities;
        let listed = listed.iter().find(|f| f.name == name).unwrap();
        assert_eq!(listed.contact_telephone, expected);
        let history = client
            .list_facility_revisions(with_token(
                pb::ListFacilityRevisionsRequest {
                    name: name.clone(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .revisions;
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].changed_fields, ["contact_telephone"]);
        let numbers: Vec<&str> = history
            .iter()
            .map(|r| r.snapshot.as_ref().unwrap().contact_telephone.as_str())
            .collect();
        if token == &reader {
            assert_eq!(numbers, ["***-**** 3456", expected]);
        } else {
            assert_eq!(numbers, ["010-6512 3456", expected]);
        }
    }

    // The change feed masks what it streams in the same way.
    let mut feed = client
        .watch_facility_changes(with_token(
            pb::WatchFacilityChangesRequest {
                follow: false,
                ..Default::default()
            },
            &national_reader,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut streamed = Vec::new();
    while let Some(message) = feed.next().await {
        let revision = message.unwrap().revision.unwrap();
        if revision.facility == name {
            streamed.push(revision.snapshot.unwrap().contact_telephone);
        }
    }
    assert_eq!(streamed, ["***-**** 3456", "+** *** **** 8000"]);
}
