//! `ProjectAnalytics` (compiled into each adapter against its own schema): grouped counts
//! and indexed ranges on one connection, no backend-specific date functions.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::ProjectAnalytics;
use usvc_core::{
    CoreError, DayCount, ProjectActivity, ProjectId, ProjectStats, ProjectStatus, TenantId, UserId,
    Visibility,
};
use uuid::Uuid;

use crate::backend::DbId;
use crate::errors;
use crate::schema::{project_members, projects};
use crate::store::Store;

/// Days in the per-day series.
const DAYS: i64 = 30;
/// Projects in the most-changed list.
const MOST_CHANGED: i64 = 10;

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// Every value of a grouped count, the absent ones as 0.
fn every(names: &[&str], counted: Vec<(String, i64)>) -> BTreeMap<String, u64> {
    let mut all: BTreeMap<String, u64> = names.iter().map(|n| ((*n).to_owned(), 0)).collect();
    for (name, n) in counted {
        all.insert(name, count(n));
    }
    all
}

#[async_trait]
impl ProjectAnalytics for Store {
    #[allow(clippy::too_many_lines)] // one query after the other, each short
    async fn project_stats(
        &self,
        tenant: TenantId,
        viewer: UserId,
        now: DateTime<Utc>,
    ) -> Result<ProjectStats, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let viewer = DbId::from(viewer.as_uuid());
        let today = now.date_naive();
        self.run(move |conn| {
            Box::pin(async move {
                let live = || {
                    projects::table
                        .filter(projects::tenant_id.eq(tenant))
                        .filter(projects::deleted_at.is_null())
                };
                let statuses: Vec<(String, i64)> = live()
                    .group_by(projects::status)
                    .select((projects::status, count_star()))
                    .load(conn)
                    .await
                    .map_err(errors::query)?;
                let by_status = every(
                    &[
                        ProjectStatus::Active.as_str(),
                        ProjectStatus::Archived.as_str(),
                    ],
                    statuses,
                );
                let visibilities: Vec<(String, i64)> = live()
                    .group_by(projects::visibility)
                    .select((projects::visibility, count_star()))
                    .load(conn)
                    .await
                    .map_err(errors::query)?;
                let by_visibility = every(
                    &[Visibility::Private.as_str(), Visibility::Tenant.as_str()],
                    visibilities,
                );
                let mut created_per_day = Vec::new();
                for back in (0..DAYS).rev() {
                    let day = today - Duration::days(back);
                    let n: i64 = live()
                        .filter(projects::created_at.ge(start_of(day)))
                        .filter(projects::created_at.lt(start_of(day + Duration::days(1))))
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)?;
                    created_per_day.push(DayCount {
                        day,
                        count: count(n),
                    });
                }
                let theirs = project_members::table
                    .filter(project_members::tenant_id.eq(tenant))
                    .filter(project_members::user_id.eq(viewer))
                    .select(project_members::project_id);
                let most_changed: Vec<(DbId, String, i64, DateTime<Utc>)> = live()
                    .filter(
                        projects::visibility
                            .eq(Visibility::Tenant.as_str())
                            .or(projects::id.eq_any(theirs)),
                    )
                    .order((projects::version.desc(), projects::id.asc()))
                    .limit(MOST_CHANGED)
                    .select((
                        projects::id,
                        projects::name,
                        projects::version,
                        projects::updated_at,
                    ))
                    .load(conn)
                    .await
                    .map_err(errors::query)?;
                let live_ids = live().select(projects::id);
                let members: i64 = project_members::table
                    .filter(project_members::tenant_id.eq(tenant))
                    .filter(project_members::project_id.eq_any(live_ids))
                    .count()
                    .get_result(conn)
                    .await
                    .map_err(errors::query)?;
                let largest: Option<i64> = project_members::table
                    .filter(project_members::tenant_id.eq(tenant))
                    .filter(project_members::project_id.eq_any(live().select(projects::id)))
                    .group_by(project_members::project_id)
                    .select(count_star())
                    .order(count_star().desc())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?;
                let total: u64 = by_status.values().sum();
                #[allow(clippy::cast_precision_loss)] // counts far below 2^52
                let average_members = if total == 0 {
                    0.0
                } else {
                    count(members) as f64 / total as f64
                };
                Ok(ProjectStats {
                    total,
                    by_status,
                    by_visibility,
                    created_per_day,
                    most_changed: most_changed
                        .into_iter()
                        .map(|(id, name, version, updated_at)| ProjectActivity {
                            id: ProjectId::from_uuid(Uuid::from(id)),
                            name,
                            version,
                            updated_at,
                        })
                        .collect(),
                    average_members,
                    largest_members: largest.map_or(0, count),
                })
            })
        })
        .await
    }
}
