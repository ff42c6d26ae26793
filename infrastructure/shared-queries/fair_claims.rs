//! Which due steps a claim takes: tenants in turn, within their `steps_in_flight` quota
//! (compiled into each adapter).
//!
//! Taking the oldest due steps first would let one tenant's backlog of ten thousand ready steps
//! hold another tenant's single step back for ten thousand claims. Instead the due steps are
//! numbered within their tenant, oldest first (`ROW_NUMBER() OVER (PARTITION BY tenant)`), and
//! taken by that number: every tenant's first step, then every tenant's second, … up to the
//! claim's limit, so a step waits at most one claim behind other tenants' work. A tenant whose
//! running steps (live leases) reach its quota gets none this time. The window is computed over
//! every due step: a few milliseconds with thousands waiting, nothing when the queue is short.
//! The picked steps are then locked (`SKIP LOCKED` on Postgres) and re-checked,
//! since this read takes no lock.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::backend::{claim_lock, placeholder, Connection, DbId, IdSql, StampSql};
use crate::executions::StepRow;
use crate::prepared::KeepPrepared as _;
use crate::schema::workflow_step_runs;

/// One picked step.
#[derive(QueryableByName)]
pub(crate) struct Pick {
    #[diesel(sql_type = IdSql)]
    pub(crate) execution_id: DbId,
    #[diesel(sql_type = Text)]
    pub(crate) step_id: String,
}

fn query() -> String {
    let p: Vec<String> = (1..=5).map(placeholder).collect();
    format!(
        "WITH flying AS (
             SELECT e.tenant_id AS tenant_id, COUNT(*) AS n
             FROM workflow_step_runs s JOIN workflow_executions e ON e.id = s.execution_id
             WHERE s.status = 'running' AND s.lease_until >= {now_flying}
             GROUP BY e.tenant_id
         ),
         due AS (
             SELECT s.execution_id AS execution_id, s.step_id AS step_id,
                    s.ready_at AS ready_at, e.tenant_id AS tenant_id,
                    ROW_NUMBER() OVER (
                        PARTITION BY e.tenant_id
                        ORDER BY s.ready_at, s.execution_id, s.step_id
                    ) AS turn
             FROM workflow_step_runs s JOIN workflow_executions e ON e.id = s.execution_id
             WHERE (s.status IN ('ready', 'waiting') AND s.ready_at <= {now_ready})
                OR (s.status = 'running' AND s.lease_until < {now_lease})
         )
         SELECT d.execution_id AS execution_id, d.step_id AS step_id
         FROM due d
         LEFT JOIN flying f ON f.tenant_id = d.tenant_id
         LEFT JOIN tenant_quotas q ON q.tenant_id = d.tenant_id
         WHERE d.turn <= COALESCE(q.steps_in_flight, {in_flight}) - COALESCE(f.n, 0)
         ORDER BY d.turn, d.ready_at
         LIMIT {limit}",
        now_flying = p[0],
        now_ready = p[1],
        now_lease = p[2],
        in_flight = p[3],
        limit = p[4],
    )
}

/// The steps a claim takes, locked: [`pick`]ed, then locked (`SKIP LOCKED` on Postgres) and
/// re-checked as still due, since another worker may have taken some meanwhile.
pub(crate) async fn take(
    conn: &mut Connection,
    now: DateTime<Utc>,
    default_in_flight: u32,
    limit: u32,
) -> diesel::QueryResult<Vec<StepRow>> {
    let picks = pick(conn, now, default_in_flight, limit).await?;
    if picks.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: HashSet<(Uuid, String)> = picks
        .iter()
        .map(|p| (Uuid::from(p.execution_id), p.step_id.clone()))
        .collect();
    let (executions, steps): (Vec<DbId>, Vec<String>) = picks
        .into_iter()
        .map(|p| (p.execution_id, p.step_id))
        .unzip();
    let due = workflow_step_runs::table
        .filter(workflow_step_runs::execution_id.eq_any(executions))
        .filter(workflow_step_runs::step_id.eq_any(steps))
        .filter(
            workflow_step_runs::status
                .eq_any(["ready", "waiting"])
                .and(workflow_step_runs::ready_at.le(now))
                .or(workflow_step_runs::status
                    .eq("running")
                    .and(workflow_step_runs::lease_until.lt(now))),
        )
        .order(workflow_step_runs::ready_at.asc())
        .select(StepRow::as_select());
    let mut rows: Vec<StepRow> = claim_lock!(due).load(conn).await?;
    rows.retain(|r| wanted.contains(&(Uuid::from(r.execution_id), r.step_id.clone())));
    Ok(rows)
}

/// Up to `limit` due steps, tenants in turn, each within its quota of running steps
/// (`default_in_flight` where the platform set none).
async fn pick(
    conn: &mut Connection,
    now: DateTime<Utc>,
    default_in_flight: u32,
    limit: u32,
) -> diesel::QueryResult<Vec<Pick>> {
    diesel::sql_query(query())
        .bind::<StampSql, _>(now)
        .bind::<StampSql, _>(now)
        .bind::<StampSql, _>(now)
        .bind::<Integer, _>(i32::try_from(default_in_flight).unwrap_or(i32::MAX))
        .bind::<BigInt, _>(i64::from(limit))
        .prepared()
        .load(conn)
        .await
}

/// The room a change that claims steps for its worker has: how many more of `tenant`'s steps
/// may run now (its `steps_in_flight` quota, `default_in_flight` where the platform set none,
/// less its live leases), read in the change's transaction.
pub(crate) async fn room(
    conn: &mut Connection,
    tenant: DbId,
    default_in_flight: u32,
    now: DateTime<Utc>,
) -> diesel::QueryResult<u32> {
    #[derive(QueryableByName)]
    struct Room {
        #[diesel(sql_type = BigInt)]
        room: i64,
    }
    // From the live leases (few) to each one's execution by key: a join from the tenant's
    // side would read every execution it ever ran.
    let p: Vec<String> = (1..=4).map(placeholder).collect();
    let query = format!(
        "SELECT COALESCE((SELECT q.steps_in_flight FROM tenant_quotas q WHERE q.tenant_id = {tenant}), {default})
              - (SELECT COUNT(*) FROM workflow_step_runs s
                 WHERE s.status = 'running' AND s.lease_until >= {now}
                   AND (SELECT e.tenant_id FROM workflow_executions e WHERE e.id = s.execution_id)
                       = {tenant_again}) AS room",
        tenant = p[0],
        default = p[1],
        now = p[2],
        tenant_again = p[3],
    );
    let row: Room = diesel::sql_query(query)
        .bind::<IdSql, _>(tenant)
        .bind::<BigInt, _>(i64::from(default_in_flight))
        .bind::<StampSql, _>(now)
        .bind::<IdSql, _>(tenant)
        .prepared()
        .get_result(conn)
        .await?;
    Ok(u32::try_from(row.room.max(0)).unwrap_or(u32::MAX))
}
