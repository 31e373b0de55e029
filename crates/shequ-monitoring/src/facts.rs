//! The facts an indicator may read of one leaf unit, one named field each: what the registry's
//! `StreamLeafUnitFacts` and the survey's `StreamRoundFacts` say of it. A new fact is one more
//! line in one of the two lists below; indicator definitions name facts by their field names, and
//! compile each name to its field's index once, so the rollup reads a unit's facts as an array.

/// Declares a struct of facts (one documented `f64` field each), the enum naming its fields (each
/// variant's discriminant is its field's index), and the names indicator definitions spell them
/// by, all from one list.
macro_rules! facts {
    (
        $(#[$doc:meta])*
        $facts:ident, $(#[$field_doc:meta])* $field:ident {
            $( $(#[$fact_doc:meta])* $fact:ident => $variant:ident, )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq)]
        pub struct $facts {
            $( $(#[$fact_doc])* pub $fact: f64, )*
        }

        $(#[$field_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $field {
            $( $(#[$fact_doc])* $variant, )*
        }

        impl $field {
            /// Every field's name, as indicator definitions spell it, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($fact)),*];

            /// How many fields there are.
            pub const COUNT: usize = Self::NAMES.len();

            /// The field's index in declaration order, where the facts' `values` put it.
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The field an indicator definition names.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($fact) => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl $facts {
            /// The value of one fact.
            pub fn get(&self, field: $field) -> f64 {
                match field {
                    $($field::$variant => self.$fact,)*
                }
            }

            /// Every fact in declaration order, so that a field's index reads it.
            pub const fn values(&self) -> [f64; $field::COUNT] {
                [$(self.$fact),*]
            }
        }
    };
}

facts! {
    /// What the registry says of one leaf unit (`LeafUnitFacts`), as numbers the rollup adds up.
    RegistryUnitFacts,
    /// A fact of [`RegistryUnitFacts`].
    RegistryField {
        /// 1 for every unit, so that indicators can count units.
        leaf_units => LeafUnits,
        /// Facilities in service.
        in_service_facilities => InServiceFacilities,
        /// Floor area of the facilities, in m².
        total_floor_area_m2 => TotalFloorArea,
        /// Area of the residents' activity rooms, in m².
        activity_area_m2 => ActivityArea,
        /// Facilities whose own activity share is at least 60%.
        activity_share_compliant => ActivityShareCompliant,
        /// Facilities open at least 8 hours every day.
        opening_hours_compliant => OpeningHoursCompliant,
        /// 1 when any facility offers a round-the-clock online service, else 0.
        online_24h => Online24h,
        /// Self-service terminals.
        self_service_terminals => SelfServiceTerminals,
        /// Community workers on the facilities' staff.
        community_workers => CommunityWorkers,
        /// Social workers on the facilities' staff.
        social_workers => SocialWorkers,
    }
}

facts! {
    /// What the survey round says of one leaf unit in its region (`RoundUnitFacts`).
    SurveyUnitFacts,
    /// A fact of [`SurveyUnitFacts`].
    SurveyField {
        /// 1 for every unit of the round's region, so that indicators can count units.
        leaf_units => LeafUnits,
        /// Valid responses.
        valid_responses => ValidResponses,
        /// Valid responses with a satisfaction score.
        scored_responses => ScoredResponses,
        /// Sum of the scores of the scored responses.
        score_sum => ScoreSum,
        /// 1 when the unit reached the round's minimum of valid responses, else 0.
        covered => Covered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_is_read_by_the_name_it_is_declared_with() {
        let registry = RegistryUnitFacts {
            leaf_units: 1.0,
            in_service_facilities: 2.0,
            total_floor_area_m2: 3.0,
            activity_area_m2: 4.0,
            activity_share_compliant: 5.0,
            opening_hours_compliant: 6.0,
            online_24h: 7.0,
            self_service_terminals: 8.0,
            community_workers: 9.0,
            social_workers: 10.0,
        };
        for (n, name) in RegistryField::NAMES.iter().enumerate() {
            let field = RegistryField::parse(name).unwrap();
            assert_eq!(registry.get(field), (n + 1) as f64, "{name}");
            assert_eq!(registry.values()[field.index()], (n + 1) as f64, "{name}");
        }
        let survey = SurveyUnitFacts {
            leaf_units: 1.0,
            valid_responses: 2.0,
            scored_responses: 3.0,
            score_sum: 4.0,
            covered: 5.0,
        };
        for (n, name) in SurveyField::NAMES.iter().enumerate() {
            let field = SurveyField::parse(name).unwrap();
            assert_eq!(survey.get(field), (n + 1) as f64, "{name}");
            assert_eq!(survey.values()[field.index()], (n + 1) as f64, "{name}");
        }
        assert_eq!(RegistryField::parse("covered"), None);
    }
}
