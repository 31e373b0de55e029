//! Plans: scope, period, plan-defined indicators and targets as the monitor keeps them, the
//! built-in national plan and alignment with the parent plan (`def`); a plan as a caller sends
//! it and the checks that make it one (`validate`, with the targets' in `targets`); plan files in
//! TOML or YAML (`file`).

mod align;
mod def;
mod file;
mod revise;
mod targets;
mod validate;

pub use align::{Alignment, Ancestor, Misalignment, align, misalignments};
pub use def::{
    Method, NATIONAL_PLAN_ID, PlanBody, PlanDef, PlanLevel, TargetDef, TargetFor, TargetOverride,
    YEARS, national_plan,
};
pub use file::{PlanFileFormat, parse_plan_file};
pub use revise::{RevisedPath, RevisionDef, RevisionSpec};
pub use targets::{MethodSpec, OverrideSpec, TargetSpec};
pub use validate::{IndicatorSpec, PlanSpec};

/// The field paths of `violations`, in order: what the tests of plans compare.
#[cfg(test)]
pub(crate) fn violated_fields(violations: shequ_domain::Violations) -> Vec<String> {
    violations.into_vec().into_iter().map(|v| v.field).collect()
}
