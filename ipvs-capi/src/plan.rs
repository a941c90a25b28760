//! Declarative planning: `ipvs_plan`, the fewest operations that turn one table into
//! another, with apply and rollback.

use std::ffi::c_char;

use ipvs_core::plan::{plan, ApplyReport, Plan};
use ipvs_core::Operation;

use crate::client::ipvs_client;
use crate::error::ipvs_result;
use crate::ffi::{self, Opaque, Out, TextOut};
use crate::list::ipvs_table;
use crate::ops::{ipvs_ops, ipvs_results, on_error_of, Results};

/// The fewest operations that turn a table into a desired one: settings that differ are
/// edited in place (`-E`, `-e`: connections survive), a service no longer wanted is one
/// deletion, and a table planned against itself gives nothing. Every step carries its undo.
/// Made by `ipvs_plan_new` (two tables) or `ipvs_client_plan` (a client's table and a desired
/// one); free with `ipvs_plan_free`. Immutable: may be read from several threads.
pub struct ipvs_plan {
    _private: [u8; 0],
}

/// What `ipvs_plan` holds: the plan and its operations (for `ipvs_plan_ops`).
pub(crate) struct PlanBox {
    plan: Plan,
    ops: Vec<Operation>,
}

impl PlanBox {
    fn new(plan: Plan) -> Self {
        let ops = plan.operations().cloned().collect();
        PlanBox { plan, ops }
    }
}

impl Opaque for ipvs_plan {
    type Inner = PlanBox;
}

/// Plans the change from the table `current` to the table `desired` (pure: nothing is read
/// or changed). `desired` is checked first: a value the kernel would refuse fails with its
/// `IPVS_RESULT_INVALID_*` code, a service listed twice with `IPVS_RESULT_SERVICE_EXISTS`, a
/// real server listed twice with `IPVS_RESULT_DESTINATION_EXISTS` (the message says which).
/// Writes `*out` on success; free it with `ipvs_plan_free`.
#[no_mangle]
pub extern "C" fn ipvs_plan_new(
    current: *const ipvs_table,
    desired: *const ipvs_table,
    out: *mut *mut ipvs_plan,
) -> ipvs_result {
    ffi::call(|| {
        let current = ffi::get(current, "current")?;
        let desired = ffi::get(desired, "desired")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed::<ipvs_plan>(PlanBox::new(plan(current, desired)?)));
        Ok(())
    })
}

/// Reads the client's table and plans the change to `desired` (checked as `ipvs_plan_new`
/// checks it, with the same messages). Writes `*out` on success; free it with
/// `ipvs_plan_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_plan(
    client: *mut ipvs_client,
    desired: *const ipvs_table,
    out: *mut *mut ipvs_plan,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let desired = ffi::get(desired, "desired")?;
        let out = Out::new(out, "out")?;
        // What `plan_for` does, with `plan`'s errors, which name the service or real server.
        let current = c.backend().services_with_destinations()?;
        out.write(ffi::boxed::<ipvs_plan>(PlanBox::new(plan(&current, desired)?)));
        Ok(())
    })
}

/// Frees a plan (and the operations `ipvs_plan_ops` lent). NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_plan_free(plan: *mut ipvs_plan) {
    ffi::void(|| ffi::free(plan))
}

/// How many operations the plan holds (0: the tables are the same; 0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_plan_len(plan: *const ipvs_plan) -> usize {
    ffi::value(0, || Ok(ffi::get(plan, "plan")?.plan.len()))
}

/// The plan's operations in order, borrowed from the plan (never freed; valid as long as the
/// plan). They can be read, or applied with `ipvs_client_apply` (`ipvs_plan_apply` does
/// that). NULL for NULL.
#[no_mangle]
pub extern "C" fn ipvs_plan_ops(plan: *const ipvs_plan) -> *const ipvs_ops {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed::<ipvs_ops>(&ffi::get(plan, "plan")?.ops)))
}

/// Writes the plan as rules text: one ipvsadm command line per operation, each ending in a
/// newline (what `ipvsadm -R` reads; empty for an empty plan). Buffer rules as
/// `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_plan_text(
    plan: *const ipvs_plan,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let p = ffi::get(plan, "plan")?;
        TextOut::new(buf, len, written)?.write(p.plan.to_string().as_bytes())
    })
}

/// Applies the plan through `client` (pipelined on a kernel client), one result per step
/// attempted; `on_error` as in `ipvs_client_apply`. Keep the results for
/// `ipvs_plan_rollback`. Writes `*out` on success; free it with `ipvs_results_free`.
#[no_mangle]
pub extern "C" fn ipvs_plan_apply(
    plan: *const ipvs_plan,
    client: *mut ipvs_client,
    on_error: u32,
    out: *mut *mut ipvs_results,
) -> ipvs_result {
    ffi::call(|| {
        let p = ffi::get(plan, "plan")?;
        let c = ffi::get_mut(client, "client")?;
        let out = Out::new(out, "out")?;
        let on_error = on_error_of(on_error)?;
        let report = p.plan.apply(c.backend(), on_error);
        out.write(ffi::boxed::<ipvs_results>(Results::new(report.results)));
        Ok(())
    })
}

/// The operations that undo what an apply of this plan did, newest first, given its
/// `applied` results (from `ipvs_plan_apply` of this plan): the undo of every step that
/// succeeded or whose effect is unknown (`ipvs_error_may_have_applied`). Writes `*out` on
/// success; free it with `ipvs_ops_free`.
#[no_mangle]
pub extern "C" fn ipvs_plan_undo_ops(
    plan: *const ipvs_plan,
    applied: *const ipvs_results,
    out: *mut *mut ipvs_ops,
) -> ipvs_result {
    ffi::call(|| {
        let p = ffi::get(plan, "plan")?;
        let r = ffi::get(applied, "applied")?;
        let out = Out::new(out, "out")?;
        let report = ApplyReport { results: r.raw.clone() };
        out.write(ffi::boxed::<ipvs_ops>(p.plan.undo_operations(&report)));
        Ok(())
    })
}

/// Best-effort rollback of an apply of this plan: applies `ipvs_plan_undo_ops` through
/// `client`, going on after failures, and writes their results to `*out` (free with
/// `ipvs_results_free`). Re-added services and real servers start with zero counters.
#[no_mangle]
pub extern "C" fn ipvs_plan_rollback(
    plan: *const ipvs_plan,
    client: *mut ipvs_client,
    applied: *const ipvs_results,
    out: *mut *mut ipvs_results,
) -> ipvs_result {
    ffi::call(|| {
        let p = ffi::get(plan, "plan")?;
        let c = ffi::get_mut(client, "client")?;
        let r = ffi::get(applied, "applied")?;
        let out = Out::new(out, "out")?;
        let report = ApplyReport { results: r.raw.clone() };
        out.write(ffi::boxed::<ipvs_results>(Results::new(p.plan.rollback(c.backend(), &report))));
        Ok(())
    })
}
