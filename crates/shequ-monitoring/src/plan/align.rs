//! Alignment: each target of a plan, for its scope and for each override's division, against
//! the target in force for the same division in the plan of the nearest ancestor division that
//! has a target for the same indicator (DOMAIN.md §6, §8).

use super::def::{PlanDef, TargetDef};

/// A target less ambitious than an ancestor plan's target in force for the same division.
#[derive(Debug, Clone, PartialEq)]
pub struct Misalignment {
    /// The plan's target in force for `division`, without overrides.
    pub target: TargetDef,
    /// The ancestor plan's target in force there, without overrides.
    pub parent_target: TargetDef,
    /// The ancestor plan's id.
    pub parent_plan: String,
    /// The override's division compared; `None` for the plan's scope.
    pub division: Option<u64>,
    /// The ancestor plan's override in force there; `None` for its own target.
    pub parent_target_division: Option<u64>,
}

/// How a plan's targets compare with its ancestors' plans.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alignment {
    /// The plan's named parent; `None` when it names none.
    pub parent: Option<String>,
    pub misalignments: Vec<Misalignment>,
}

/// A plan of an ancestor division, as alignment weighs it.
#[derive(Debug, Clone, Copy)]
pub struct Ancestor<'a> {
    pub plan: &'a PlanDef,
    /// How deep its scope lies: 0 for the country, 1 for a province, and so on down the plan's
    /// own chain of ancestors; the deepest with the indicator is the nearest.
    pub depth: usize,
    /// Whether the plan names it as its parent (first among plans of the same division).
    pub named: bool,
}

/// For each target, the nearest ancestor plan with the same indicator: the deepest, the named
/// parent first among equals, then the newest, then by id.
fn nearest<'a>(ancestors: &[Ancestor<'a>], indicator: &str) -> Option<&'a PlanDef> {
    ancestors
        .iter()
        .filter(|a| a.plan.target(indicator).is_some())
        .max_by(|a, b| {
            (a.depth, a.named, a.plan.create_time)
                .cmp(&(b.depth, b.named, b.plan.create_time))
                .then_with(|| b.plan.id.cmp(&a.plan.id))
        })
        .map(|a| a.plan)
}

/// Targets of `plan` less ambitious than the nearest ancestor plan's target in force for the
/// same division. `chain(d)` is division `d` and its ancestors, nearest first; `scope_chain` is
/// the plan scope's (empty for the country).
pub fn align(
    plan: &PlanDef,
    ancestors: &[Ancestor<'_>],
    scope_chain: &[u64],
    chain: &dyn Fn(u64) -> Vec<u64>,
) -> Vec<Misalignment> {
    let mut out = Vec::new();
    for t in &plan.body.targets {
        let Some(parent) = nearest(ancestors, &t.indicator) else {
            continue;
        };
        let Some(p) = parent.target(&t.indicator) else {
            continue;
        };
        let own = std::iter::once((0, None, scope_chain.to_vec()));
        let overrides = t
            .overrides
            .iter()
            .enumerate()
            .map(|(i, o)| (i + 1, Some(o.division), chain(o.division)));
        for (k, division, at) in own.chain(overrides) {
            let pk = p.variant_for(&at);
            let child = t.variant(k).trajectory(plan.start_year);
            let theirs = p.variant(pk).trajectory(parent.start_year);
            if child.is_less_ambitious_than(&theirs) {
                out.push(Misalignment {
                    target: t.resolved(k),
                    parent_target: p.resolved(pk),
                    parent_plan: parent.id.clone(),
                    division,
                    parent_target_division: p.variant(pk).division,
                });
            }
        }
    }
    out
}

/// Targets of `plan` less ambitious than `parent`'s for the plan's scope (the parent's own
/// targets, its overrides not read): alignment with one named plan.
pub fn misalignments(plan: &PlanDef, parent: &PlanDef) -> Vec<Misalignment> {
    let ancestors = [Ancestor {
        plan: parent,
        depth: 0,
        named: true,
    }];
    align(plan, &ancestors, &[], &|code| vec![code])
}
