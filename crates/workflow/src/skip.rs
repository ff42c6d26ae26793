//! Why a step was skipped, as stored in its `skip` (`skipped_because` over HTTP): read by the
//! planner and by kinds that gate their dependents.

/// Its own `if` was false; dependents still run.
pub const IF: &str = "if";
/// A gate upstream closed (a `condition` was false, an approval took the other branch):
/// the branch ends here.
pub const CONDITION: &str = "condition";
/// A step upstream failed (under `on_failure: continue`); a retry runs it again.
pub const FAILURE: &str = "failure";
