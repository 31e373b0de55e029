//! A facility's lifecycle status and the catalogue of services a facility offers.

/// Lifecycle of a facility; only [`FacilityStatus::InService`] counts towards the indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacilityStatus {
    Planned,
    UnderConstruction,
    InService,
    Suspended,
    Closed,
}

impl FacilityStatus {
    pub const ALL: [FacilityStatus; 5] = [
        Self::Planned,
        Self::UnderConstruction,
        Self::InService,
        Self::Suspended,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::UnderConstruction => "under_construction",
            Self::InService => "in_service",
            Self::Suspended => "suspended",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Allowed moves: forward through construction into service, in and out of suspension, and
    /// closing from anywhere. Closed is final: a reopened facility is a new record.
    pub fn can_become(self, next: Self) -> bool {
        use FacilityStatus::*;
        self == next
            || matches!(
                (self, next),
                (Planned, UnderConstruction | InService | Closed)
                    | (UnderConstruction, Planned | InService | Closed)
                    | (InService, Suspended | Closed)
                    | (Suspended, InService | Closed)
            )
    }
}

/// The service catalogue of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKind {
    ElderlyCare,
    Childcare,
    Employment,
    DisabilityHelp,
    MinorsCare,
    Health,
    PsychologicalSupport,
    Emergency,
    GovernmentServices,
    Convenience,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 10] = [
        Self::ElderlyCare,
        Self::Childcare,
        Self::Employment,
        Self::DisabilityHelp,
        Self::MinorsCare,
        Self::Health,
        Self::PsychologicalSupport,
        Self::Emergency,
        Self::GovernmentServices,
        Self::Convenience,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ElderlyCare => "elderly_care",
            Self::Childcare => "childcare",
            Self::Employment => "employment",
            Self::DisabilityHelp => "disability_help",
            Self::MinorsCare => "minors_care",
            Self::Health => "health",
            Self::PsychologicalSupport => "psychological_support",
            Self::Emergency => "emergency",
            Self::GovernmentServices => "government_services",
            Self::Convenience => "convenience",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The plan's own word for the service.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Self::ElderlyCare => "养老",
            Self::Childcare => "托育",
            Self::Employment => "就业",
            Self::DisabilityHelp => "助残",
            Self::MinorsCare => "未成年人关爱",
            Self::Health => "医疗卫生",
            Self::PsychologicalSupport => "社会心理",
            Self::Emergency => "应急",
            Self::GovernmentServices => "政务服务",
            Self::Convenience => "便民",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_moves() {
        use FacilityStatus::*;
        assert!(Planned.can_become(InService));
        assert!(InService.can_become(Suspended));
        assert!(Suspended.can_become(InService));
        assert!(!Closed.can_become(InService));
        assert!(!InService.can_become(Planned));
        assert!(Closed.can_become(Closed));
        assert_eq!(
            FacilityStatus::parse("under_construction"),
            Some(UnderConstruction)
        );
    }

    #[test]
    fn catalogue_round_trips() {
        for k in ServiceKind::ALL {
            assert_eq!(ServiceKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ServiceKind::parse("karaoke"), None);
    }
}
