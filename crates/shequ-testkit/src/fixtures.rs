//! Fixtures: the division slices committed under `data/divisions/` and a valid facility.

use shequ_proto::common::v1 as common;
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use tonic::transport::Channel;

/// A slice as the five gzipped CSV files, in import order.
pub type Slice = [(pb::DivisionFile, &'static [u8]); 5];

macro_rules! slice {
    ($dir:literal) => {
        [
            (
                pb::DivisionFile::Provinces,
                include_bytes!(concat!(
                    "../../../data/divisions/",
                    $dir,
                    "/provinces.csv.gz"
                ))
                .as_slice(),
            ),
            (
                pb::DivisionFile::Cities,
                include_bytes!(concat!("../../../data/divisions/", $dir, "/cities.csv.gz"))
                    .as_slice(),
            ),
            (
                pb::DivisionFile::Areas,
                include_bytes!(concat!("../../../data/divisions/", $dir, "/areas.csv.gz"))
                    .as_slice(),
            ),
            (
                pb::DivisionFile::Streets,
                include_bytes!(concat!("../../../data/divisions/", $dir, "/streets.csv.gz"))
                    .as_slice(),
            ),
            (
                pb::DivisionFile::Villages,
                include_bytes!(concat!(
                    "../../../data/divisions/",
                    $dir,
                    "/villages.csv.gz"
                ))
                .as_slice(),
            ),
        ]
    };
}

/// Beijing 东城区 (110101) and Hubei 仙桃市 (429004, a county-level unit under the
/// province-administered group 4290): 936 leaf units.
pub const SAMPLE: Slice = slice!("sample");
/// Hebei (13): 54,145 leaf units.
pub const HEBEI: Slice = slice!("hebei");

/// Leaf units in [`SAMPLE`]: 东城区 169, 仙桃市 767.
pub const SAMPLE_LEAF_UNITS: i64 = 936;
/// A community in 东城区: 多福巷社区居委会.
pub const SAMPLE_COMMUNITY: &str = "divisions/110101001001";
/// A township in 仙桃市, for non-leaf checks.
pub const SAMPLE_TOWNSHIP: &str = "divisions/429004001";

/// Two communities of 天津市和平区劝业场街道 and two of 宁夏回族自治区银川市兴庆区凤凰北街街道 (real
/// 2023 codes), as plain CSV: two provinces far apart, for checks between regions.
pub const TIANJIN_NINGXIA: Slice = [
    (
        pb::DivisionFile::Provinces,
        "code,name\n12,\"天津市\"\n64,\"宁夏回族自治区\"\n".as_bytes(),
    ),
    (
        pb::DivisionFile::Cities,
        "code,name,provinceCode\n1201,\"市辖区\",12\n6401,\"银川市\",64\n".as_bytes(),
    ),
    (
        pb::DivisionFile::Areas,
        "code,name,cityCode,provinceCode\n120101,\"和平区\",1201,12\n640104,\"兴庆区\",6401,64\n"
            .as_bytes(),
    ),
    (
        pb::DivisionFile::Streets,
        "code,name,areaCode,provinceCode,cityCode\n\
         120101001,\"劝业场街道\",120101,12,1201\n\
         640104001,\"凤凰北街街道\",640104,64,6401\n"
            .as_bytes(),
    ),
    (
        pb::DivisionFile::Villages,
        "code,name,streetCode,provinceCode,cityCode,areaCode\n\
         120101001001,\"花园路社区居委会\",120101001,12,1201,120101\n\
         120101001002,\"滨西社区居委会\",120101001,12,1201,120101\n\
         640104001002,\"崇安社区居委会\",640104001,64,6401,640104\n\
         640104001003,\"兴隆社区居委会\",640104001,64,6401,640104\n"
            .as_bytes(),
    ),
];
/// 天津市 and 宁夏回族自治区 as a token's `divisions` claim names them.
pub const TIANJIN: &str = "120000000000";
pub const NINGXIA: &str = "640000000000";
/// A community of each, in [`TIANJIN_NINGXIA`].
pub const TIANJIN_COMMUNITY: &str = "divisions/120101001001";
pub const NINGXIA_COMMUNITY: &str = "divisions/640104001002";

/// Import requests for `slice`, each file split into chunks of `chunk` bytes.
pub fn import_requests(
    slice: &Slice,
    vintage: &str,
    chunk: usize,
) -> Vec<pb::ImportDivisionsRequest> {
    let mut out = Vec::new();
    for (file, bytes) in slice {
        for part in bytes.chunks(chunk.max(1)) {
            out.push(pb::ImportDivisionsRequest {
                vintage: if out.is_empty() {
                    vintage.to_owned()
                } else {
                    String::new()
                },
                file: *file as i32,
                data: part.to_vec(),
                ..Default::default()
            });
        }
    }
    out
}

/// Imports `slice` over gRPC in 64 KiB chunks.
pub async fn import(
    client: &mut DivisionServiceClient<Channel>,
    slice: &Slice,
    vintage: &str,
) -> Result<pb::ImportDivisionsResponse, tonic::Status> {
    let requests = import_requests(slice, vintage, 64 * 1024);
    Ok(client
        .import_divisions(tokio_stream::iter(requests))
        .await?
        .into_inner())
}

/// A valid in-service facility in `leaf_unit`: 500 m² with 300 m² for activities, open 08:00-17:00
/// every day, elderly care and health, government services online around the clock.
pub fn facility(leaf_unit: &str) -> pb::Facility {
    pb::Facility {
        display_name: "社区党群服务中心".to_owned(),
        leaf_unit: leaf_unit.to_owned(),
        address: "示范路 1 号".to_owned(),
        location: Some(common::LatLng {
            latitude: 39.93,
            longitude: 116.41,
        }),
        status: pb::FacilityStatus::InService as i32,
        total_floor_area_m2: 500.0,
        activity_area_m2: 300.0,
        opening_hours: (1..=7)
            .map(|day| pb::OpeningInterval {
                day,
                open_minute: 480,
                close_minute: 1020,
            })
            .collect(),
        services: vec![
            common::ServiceKind::ElderlyCare as i32,
            common::ServiceKind::Health as i32,
        ],
        online_24h_services: vec![common::ServiceKind::GovernmentServices as i32],
        self_service_terminals: 2,
        staff: Some(pb::Staff {
            community_workers: 9,
            social_workers: 2,
        }),
        operator: Some(pb::Operator {
            display_name: "示范社会工作服务中心".to_owned(),
            uscc: "91350100M000100Y43".to_owned(),
        }),
        ..Default::default()
    }
}
