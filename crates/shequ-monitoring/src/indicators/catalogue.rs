//! The built-in indicator catalogue (DOMAIN.md §5), plus the registry's per-facility staff sums.

use super::{Better, IndicatorDef, Kind, Source, UnitFilter};

#[allow(clippy::too_many_arguments)]
fn def(
    code: &str,
    display_name: &str,
    kind: Kind,
    source: Source,
    field: &str,
    denominator_field: &str,
    unit_kind: UnitFilter,
    unit: &str,
) -> IndicatorDef {
    IndicatorDef {
        code: code.to_owned(),
        display_name: display_name.to_owned(),
        kind,
        source,
        field: field.to_owned(),
        denominator_field: denominator_field.to_owned(),
        unit_kind,
        unit: unit.to_owned(),
        direction: Better::Higher,
        factor: 1.0,
    }
}

/// The built-in catalogue (DOMAIN.md §5), plus the registry's per-facility staff sums.
pub fn catalogue() -> Vec<IndicatorDef> {
    use Kind::*;
    use Source::*;
    use UnitFilter::*;
    vec![
        def(
            "urban_facility_coverage",
            "城市社区综合服务设施覆盖率",
            Share,
            Registry,
            "in_service_facilities",
            "",
            Community,
            "share",
        ),
        def(
            "rural_facility_coverage",
            "农村社区综合服务设施覆盖率",
            Share,
            Registry,
            "in_service_facilities",
            "",
            Village,
            "share",
        ),
        def(
            "activity_area_share",
            "居民活动用房面积占比",
            Ratio,
            Registry,
            "activity_area_m2",
            "total_floor_area_m2",
            All,
            "share",
        ),
        def(
            "activity_area_compliance",
            "活动用房占比达标设施比例",
            Ratio,
            Registry,
            "activity_share_compliant",
            "in_service_facilities",
            All,
            "share",
        ),
        def(
            "opening_hours_compliance",
            "每天开放不少于8小时设施比例",
            Ratio,
            Registry,
            "opening_hours_compliant",
            "in_service_facilities",
            All,
            "share",
        ),
        def(
            "online_24h_coverage",
            "开展24小时线上服务的村(社区)比例",
            Share,
            Registry,
            "online_24h",
            "",
            All,
            "share",
        ),
        def(
            "survey_coverage",
            "满意度调查覆盖率",
            Share,
            Survey,
            "covered",
            "",
            All,
            "share",
        ),
        def(
            "satisfaction_index",
            "居民满意度指数",
            Mean,
            Survey,
            "score_sum",
            "scored_responses",
            All,
            "score",
        ),
        def(
            "community_workers",
            "社区工作者 (报告数)",
            Sum,
            Reported,
            "",
            "",
            All,
            "people",
        ),
        def(
            "social_workers",
            "社会工作者 (报告数)",
            Sum,
            Reported,
            "",
            "",
            All,
            "people",
        ),
        def(
            "facility_community_workers",
            "设施登记的社区工作者",
            Sum,
            Registry,
            "community_workers",
            "",
            All,
            "people",
        ),
        def(
            "facility_social_workers",
            "设施登记的社会工作者",
            Sum,
            Registry,
            "social_workers",
            "",
            All,
            "people",
        ),
    ]
}

pub fn builtin(code: &str) -> Option<IndicatorDef> {
    catalogue().into_iter().find(|d| d.code == code)
}
