//! Pure domain model of the urban-rural community service system: no I/O, no async, no wire formats.
//!
//! Everything here is deterministic and unit-tested: division codes and the leaf-unit kind, the unified
//! social credit code check, opening-hours arithmetic, the trimming rule of text fields, facility
//! validation and the indicator
//! trajectory and status rules of the plan monitor.

pub mod division;
pub mod excerpt;
pub mod facility;
pub mod indicator;
pub mod opening_hours;
pub mod telephone;
pub mod text;
pub mod trajectory;
pub mod uscc;
pub mod violation;

pub use division::{DivisionCode, DivisionCodeError, DivisionLevel, LeafUnitKind};
pub use excerpt::{EXCERPT_CHARS, Excerpt, excerpt};
pub use facility::{
    ACTIVITY_SHARE_THRESHOLD, Coordinates, FacilitySpec, FacilityStatus, ServiceKind, StaffCounts,
};
pub use indicator::{Direction, Status, satisfaction_score};
pub use opening_hours::{DayOfWeek, MIN_DAILY_OPEN_MINUTES, OpeningHours, OpeningInterval};
pub use text::TextRule;
pub use trajectory::{GrowthThresholds, Judgement, Milestone, Trajectory};
pub use uscc::{Uscc, UsccError};
pub use violation::{FieldViolation, Violations};
