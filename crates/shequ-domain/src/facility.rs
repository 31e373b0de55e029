//! Community comprehensive service facilities (社区综合服务设施): attributes, lifecycle and validation.

use std::collections::BTreeSet;

use crate::division::DivisionCode;
use crate::opening_hours::OpeningHours;
use crate::telephone;
use crate::text::TextRule;
use crate::uscc::Uscc;
use crate::violation::Violations;

mod kinds;

pub use kinds::{FacilityStatus, ServiceKind};

/// The plan's target share of floor area given over to residents' activities.
pub const ACTIVITY_SHARE_THRESHOLD: f64 = 0.6;

/// Generous upper bound on a facility's floor area; beyond it a value is a unit mistake.
const MAX_FLOOR_AREA_M2: f64 = 1_000_000.0;
/// The facility's name: trimmed text, 1 to 200 characters.
pub const DISPLAY_NAME: TextRule = TextRule::required(200);
/// Its address: trimmed text, at most 500 characters.
pub const ADDRESS: TextRule = TextRule::optional(500);
/// The operator organisation's name: trimmed text, at most 200 characters.
pub const OPERATOR_NAME: TextRule = TextRule::optional(200);
/// Its contact telephone: trimmed text, at most 32 characters, in the form [`telephone::problem`]
/// checks.
pub const CONTACT_TELEPHONE: TextRule = TextRule::optional(32);
/// Upper bound on counts (terminals, staff) at one facility.
const MAX_COUNT: u32 = 100_000;

/// WGS-84 coordinates in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaffCounts {
    /// 社区工作者
    pub community_workers: u32,
    /// 社会工作者 (professional social workers)
    pub social_workers: u32,
}

/// Everything a caller states about a facility; the registry adds identity, revision and history.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilitySpec {
    pub display_name: String,
    pub leaf_unit: DivisionCode,
    pub address: String,
    pub location: Option<Coordinates>,
    pub status: FacilityStatus,
    pub total_floor_area_m2: f64,
    pub activity_area_m2: f64,
    pub opening_hours: OpeningHours,
    pub services: BTreeSet<ServiceKind>,
    pub online_24h_services: BTreeSet<ServiceKind>,
    pub self_service_terminals: u32,
    pub staff: StaffCounts,
    pub operator_name: String,
    pub operator_uscc: Option<Uscc>,
    /// Empty for none.
    pub contact_telephone: String,
}

impl FacilitySpec {
    /// The fields a client writes, as update-mask paths in the facility message; the names a
    /// change-log entry lists.
    pub const WRITABLE: &'static [&'static str] = &[
        "display_name",
        "leaf_unit",
        "address",
        "location",
        "status",
        "total_floor_area_m2",
        "activity_area_m2",
        "opening_hours",
        "services",
        "online_24h_services",
        "self_service_terminals",
        "staff",
        "operator",
        "contact_telephone",
    ];

    /// Writable fields below the top level, as update-mask paths.
    pub const SUB_PATHS: &'static [&'static str] = &[
        "location.latitude",
        "location.longitude",
        "staff.community_workers",
        "staff.social_workers",
        "operator.display_name",
        "operator.uscc",
    ];

    /// Whether `path` is a writable field ([`Self::WRITABLE`] or [`Self::SUB_PATHS`]).
    pub fn is_writable(path: &str) -> bool {
        Self::WRITABLE.contains(&path) || Self::SUB_PATHS.contains(&path)
    }

    /// Takes the value at the writable field `path` from `from`. Setting one coordinate of a
    /// facility without a location sets the other to 0.
    ///
    /// # Panics
    /// When `path` is not writable ([`Self::is_writable`]).
    pub fn take(&mut self, path: &str, from: &FacilitySpec) {
        let location = self.location.unwrap_or(Coordinates {
            latitude: 0.0,
            longitude: 0.0,
        });
        let given = from.location.unwrap_or(Coordinates {
            latitude: 0.0,
            longitude: 0.0,
        });
        match path {
            "display_name" => self.display_name.clone_from(&from.display_name),
            "leaf_unit" => self.leaf_unit = from.leaf_unit,
            "address" => self.address.clone_from(&from.address),
            "location" => self.location = from.location,
            "location.latitude" => {
                self.location = Some(Coordinates {
                    latitude: given.latitude,
                    ..location
                });
            }
            "location.longitude" => {
                self.location = Some(Coordinates {
                    longitude: given.longitude,
                    ..location
                });
            }
            "status" => self.status = from.status,
            "total_floor_area_m2" => self.total_floor_area_m2 = from.total_floor_area_m2,
            "activity_area_m2" => self.activity_area_m2 = from.activity_area_m2,
            "opening_hours" => self.opening_hours.clone_from(&from.opening_hours),
            "services" => self.services.clone_from(&from.services),
            "online_24h_services" => self
                .online_24h_services
                .clone_from(&from.online_24h_services),
            "self_service_terminals" => self.self_service_terminals = from.self_service_terminals,
            "staff" => self.staff = from.staff,
            "staff.community_workers" => {
                self.staff.community_workers = from.staff.community_workers
            }
            "staff.social_workers" => self.staff.social_workers = from.staff.social_workers,
            "operator" => {
                self.operator_name.clone_from(&from.operator_name);
                self.operator_uscc.clone_from(&from.operator_uscc);
            }
            "operator.display_name" => self.operator_name.clone_from(&from.operator_name),
            "operator.uscc" => self.operator_uscc.clone_from(&from.operator_uscc),
            "contact_telephone" => self.contact_telephone.clone_from(&from.contact_telephone),
            _ => panic!("`{path}` is not a writable field of a facility"),
        }
    }

    /// The top-level writable fields ([`Self::WRITABLE`]) whose values differ from `other`'s.
    pub fn changed_fields(&self, other: &FacilitySpec) -> Vec<&'static str> {
        let differs = |field: &str| match field {
            "display_name" => self.display_name != other.display_name,
            "leaf_unit" => self.leaf_unit != other.leaf_unit,
            "address" => self.address != other.address,
            "location" => self.location != other.location,
            "status" => self.status != other.status,
            "total_floor_area_m2" => self.total_floor_area_m2 != other.total_floor_area_m2,
            "activity_area_m2" => self.activity_area_m2 != other.activity_area_m2,
            "opening_hours" => self.opening_hours != other.opening_hours,
            "services" => self.services != other.services,
            "online_24h_services" => self.online_24h_services != other.online_24h_services,
            "self_service_terminals" => self.self_service_terminals != other.self_service_terminals,
            "staff" => self.staff != other.staff,
            "operator" => {
                self.operator_name != other.operator_name
                    || self.operator_uscc != other.operator_uscc
            }
            "contact_telephone" => self.contact_telephone != other.contact_telephone,
            _ => unreachable!("`{field}` is not a writable field"),
        };
        Self::WRITABLE
            .iter()
            .copied()
            .filter(|f| differs(f))
            .collect()
    }

    /// Checks the rules that involve values already parsed into domain types, the text fields as
    /// sent (before [`FacilitySpec::trimmed`]). Field names are paths in the facility message, for
    /// the caller to prefix with the request's path.
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::new();
        DISPLAY_NAME.check(&mut v, "display_name", &self.display_name);
        ADDRESS.check(&mut v, "address", &self.address);
        if let Some(loc) = self.location {
            if !(loc.latitude.is_finite() && (-90.0..=90.0).contains(&loc.latitude)) {
                v.push("location.latitude", "must be between -90 and 90 degrees");
            }
            if !(loc.longitude.is_finite() && (-180.0..=180.0).contains(&loc.longitude)) {
                v.push("location.longitude", "must be between -180 and 180 degrees");
            }
        }
        let total = self.total_floor_area_m2;
        let total_ok = total.is_finite() && total > 0.0 && total <= MAX_FLOOR_AREA_M2;
        if !total_ok {
            v.push(
                "total_floor_area_m2",
                format!("must be greater than 0 and at most {MAX_FLOOR_AREA_M2} m²"),
            );
        }
        let activity = self.activity_area_m2;
        if !(activity.is_finite() && activity >= 0.0) {
            v.push("activity_area_m2", "must be 0 or more");
        } else if total_ok && activity > total {
            v.push("activity_area_m2", "must not exceed `total_floor_area_m2`");
        }
        for (field, n) in [
            ("self_service_terminals", self.self_service_terminals),
            ("staff.community_workers", self.staff.community_workers),
            ("staff.social_workers", self.staff.social_workers),
        ] {
            if n > MAX_COUNT {
                v.push(field, format!("must be at most {MAX_COUNT}"));
            }
        }
        OPERATOR_NAME.check(&mut v, "operator.display_name", &self.operator_name);
        if CONTACT_TELEPHONE.check(&mut v, "contact_telephone", &self.contact_telephone)
            && let Some(problem) = telephone::problem(crate::text::trim(&self.contact_telephone))
        {
            v.push("contact_telephone", problem);
        }
        v.into_result(())
    }

    /// The spec with its text fields trimmed ([`crate::text`]): what is stored and returned.
    pub fn trimmed(mut self) -> Self {
        for text in [
            &mut self.display_name,
            &mut self.address,
            &mut self.operator_name,
            &mut self.contact_telephone,
        ] {
            *text = crate::text::trim(text).to_owned();
        }
        self
    }

    /// Activity area over total floor area, in [0, 1].
    pub fn activity_share(&self) -> f64 {
        if self.total_floor_area_m2 > 0.0 {
            self.activity_area_m2 / self.total_floor_area_m2
        } else {
            0.0
        }
    }

    pub fn meets_activity_share(&self) -> bool {
        // Compare on the areas, not the rounded share, so 60 of 100 m² passes exactly.
        self.activity_area_m2 >= ACTIVITY_SHARE_THRESHOLD * self.total_floor_area_m2 - 1e-9
    }

    pub fn min_daily_open_minutes(&self) -> u32 {
        self.opening_hours.min_daily_minutes()
    }

    pub fn meets_opening_hours(&self) -> bool {
        self.opening_hours.meets_daily_minimum()
    }

    pub fn offers_online_24h(&self) -> bool {
        !self.online_24h_services.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> FacilitySpec {
        FacilitySpec {
            display_name: "多福巷社区党群服务中心".into(),
            leaf_unit: DivisionCode::parse("110101001001").unwrap(),
            address: "北京市东城区多福巷 1 号".into(),
            location: Some(Coordinates {
                latitude: 39.92,
                longitude: 116.41,
            }),
            status: FacilityStatus::InService,
            total_floor_area_m2: 500.0,
            activity_area_m2: 300.0,
            opening_hours: OpeningHours::from_raw(
                &(1..=7).map(|d| (d, 8 * 60, 17 * 60)).collect::<Vec<_>>(),
            )
            .unwrap(),
            services: [ServiceKind::ElderlyCare, ServiceKind::Health].into(),
            online_24h_services: [ServiceKind::GovernmentServices].into(),
            self_service_terminals: 1,
            staff: StaffCounts {
                community_workers: 9,
                social_workers: 2,
            },
            operator_name: String::new(),
            operator_uscc: None,
            contact_telephone: "010-6512 3456".into(),
        }
    }

    #[test]
    fn every_writable_path_is_taken_and_compared() {
        let old = sample();
        let mut new = sample();
        new.display_name = "新名".into();
        new.leaf_unit = DivisionCode::parse("110101001002").unwrap();
        new.address = "新址".into();
        new.location = Some(Coordinates {
            latitude: 30.0,
            longitude: 100.0,
        });
        new.status = FacilityStatus::Suspended;
        new.total_floor_area_m2 = 900.0;
        new.activity_area_m2 = 600.0;
        new.opening_hours = OpeningHours::default();
        new.services = [ServiceKind::Health].into();
        new.online_24h_services = BTreeSet::new();
        new.self_service_terminals = 3;
        new.staff.community_workers = 1;
        new.operator_name = "运营方".into();
        new.contact_telephone = "12345".into();
        assert_eq!(old.changed_fields(&new), FacilitySpec::WRITABLE);
        let mut merged = old.clone();
        for path in FacilitySpec::WRITABLE {
            merged.take(path, &new);
        }
        assert_eq!(merged, new);
        assert!(merged.changed_fields(&new).is_empty());

        let mut moved = old.clone();
        moved.location = None;
        moved.take("location.latitude", &new);
        assert_eq!(
            moved.location,
            Some(Coordinates {
                latitude: 30.0,
                longitude: 0.0
            })
        );
        for path in FacilitySpec::SUB_PATHS {
            assert!(FacilitySpec::is_writable(path));
            merged.take(path, &old);
        }
        assert_eq!(
            merged.changed_fields(&new),
            ["location", "staff", "operator"]
        );
        assert!(!FacilitySpec::is_writable("revision"));
    }

    #[test]
    fn a_contact_telephone_is_checked_and_trimmed() {
        let mut f = sample();
        f.contact_telephone = " 12345 ".into();
        f.validate().unwrap();
        assert_eq!(f.trimmed().contact_telephone, "12345");
        for bad in ["1234", " ", &"1".repeat(33)] {
            let mut f = sample();
            f.contact_telephone = bad.into();
            let v = f.validate().unwrap_err();
            let fields: Vec<_> = v.iter().map(|v| v.field.clone()).collect();
            assert_eq!(fields, ["contact_telephone"], "{bad}");
        }
    }

    #[test]
    fn a_complete_facility_is_valid_and_compliant() {
        let f = sample();
        f.validate().unwrap();
        assert!(f.meets_activity_share());
        assert!(f.meets_opening_hours());
        assert!(f.offers_online_24h());
        assert_eq!(f.min_daily_open_minutes(), 540);
    }

    #[test]
    fn activity_share_boundary_is_inclusive() {
        let mut f = sample();
        f.total_floor_area_m2 = 333.3;
        f.activity_area_m2 = 199.98;
        assert!(f.meets_activity_share());
        f.activity_area_m2 = 199.9;
        assert!(!f.meets_activity_share());
    }

    #[test]
    fn areas_are_checked() {
        let mut f = sample();
        f.activity_area_m2 = 600.0;
        assert_eq!(
            f.validate().unwrap_err().iter().next().unwrap().field,
            "activity_area_m2"
        );
        f.total_floor_area_m2 = 0.0;
        f.activity_area_m2 = 0.0;
        assert_eq!(
            f.validate().unwrap_err().iter().next().unwrap().field,
            "total_floor_area_m2"
        );
        f.total_floor_area_m2 = f64::NAN;
        assert!(f.validate().is_err());
    }

    #[test]
    fn coordinates_and_names_are_checked() {
        let mut f = sample();
        f.location = Some(Coordinates {
            latitude: 91.0,
            longitude: 181.0,
        });
        f.display_name = "  ".into();
        let fields: Vec<_> = f
            .validate()
            .unwrap_err()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            fields,
            ["display_name", "location.latitude", "location.longitude"]
        );
    }

    #[test]
    fn text_fields_are_trimmed_and_white_space_alone_is_refused() {
        let mut f = sample();
        f.address = " \u{3000} ".into();
        f.operator_name = "\t".into();
        let fields: Vec<_> = f
            .validate()
            .unwrap_err()
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, ["address", "operator.display_name"]);

        let mut f = sample();
        f.display_name = format!("\u{3000}{} ", "名".repeat(200));
        f.address = "  北京市东城区多福巷 1 号\n".into();
        f.operator_name = " 东城社工站 ".into();
        f.validate().unwrap();
        let stored = f.trimmed();
        assert_eq!(stored.display_name, "名".repeat(200));
        assert_eq!(stored.address, "北京市东城区多福巷 1 号");
        assert_eq!(stored.operator_name, "东城社工站");
        stored.validate().unwrap();

        // An optional field left empty stays empty.
        let mut f = sample();
        f.address = String::new();
        f.validate().unwrap();
    }
}
