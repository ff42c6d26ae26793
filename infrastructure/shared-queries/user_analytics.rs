//! `UserAnalytics` (compiled into each adapter against its own schema): counts over indexed
//! ranges, one connection for all of them, no backend-specific date functions.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::UserAnalytics;
use usvc_core::{CoreError, DayCount, TenantId, UserStats, UserStatus};

use crate::backend::DbId;
use crate::errors;
use crate::schema::{login_failure_days, sessions, users};
use crate::store::Store;

/// Days in the per-day series.
const DAYS: i64 = 30;

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// Sign-ups and logins (sessions opened) for each of `days`.
async fn per_day(
    conn: &mut crate::backend::Connection,
    tenant: DbId,
    days: &[NaiveDate],
) -> Result<(Vec<DayCount>, Vec<DayCount>), CoreError> {
    let mut signups = Vec::with_capacity(days.len());
    let mut logins = Vec::with_capacity(days.len());
    for day in days {
        let (from, to) = (start_of(*day), start_of(*day + Duration::days(1)));
        let n: i64 = users::table
            .filter(users::tenant_id.eq(tenant))
            .filter(users::created_at.ge(from))
            .filter(users::created_at.lt(to))
            .count()
            .get_result(conn)
            .await
            .map_err(errors::query)?;
        signups.push(DayCount {
            day: *day,
            count: count(n),
        });
        let n: i64 = sessions::table
            .filter(sessions::tenant_id.eq(tenant))
            .filter(sessions::created_at.ge(from))
            .filter(sessions::created_at.lt(to))
            .count()
            .get_result(conn)
            .await
            .map_err(errors::query)?;
        logins.push(DayCount {
            day: *day,
            count: count(n),
        });
    }
    Ok((signups, logins))
}

#[async_trait]
impl UserAnalytics for Store {
    async fn user_stats(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<UserStats, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let today = now.date_naive();
        let days: Vec<NaiveDate> = (0..DAYS)
            .rev()
            .map(|back| today - Duration::days(back))
            .collect();
        self.run(move |conn| {
            Box::pin(async move {
                let live = || {
                    users::table
                        .filter(users::tenant_id.eq(tenant))
                        .filter(users::deleted_at.is_null())
                };
                let statuses: Vec<(String, i64)> = live()
                    .group_by(users::status)
                    .select((users::status, diesel::dsl::count_star()))
                    .load(conn)
                    .await
                    .map_err(errors::query)?;
                let mut by_status: BTreeMap<String, u64> =
                    [UserStatus::Active, UserStatus::Disabled, UserStatus::Locked]
                        .iter()
                        .map(|s| (s.as_str().to_owned(), 0))
                        .collect();
                for (status, n) in statuses {
                    by_status.insert(status, count(n));
                }
                let mut active = [0u64; 3];
                for (slot, days_back) in active.iter_mut().zip([1, 7, 30]) {
                    let n: i64 = live()
                        .filter(users::last_login_at.ge(now - Duration::days(days_back)))
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)?;
                    *slot = count(n);
                }
                let mfa: i64 = live()
                    .filter(users::mfa_enabled.eq(true))
                    .count()
                    .get_result(conn)
                    .await
                    .map_err(errors::query)?;
                let (signups, logins) = per_day(conn, tenant, &days).await?;
                let first = match days.as_slice() {
                    [d, ..] => d.format("%Y-%m-%d").to_string(),
                    [] => String::new(),
                };
                let failures: Vec<(String, i32)> = login_failure_days::table
                    .filter(login_failure_days::tenant_id.eq(tenant))
                    .filter(login_failure_days::day.ge(first))
                    .select((login_failure_days::day, login_failure_days::failures))
                    .load(conn)
                    .await
                    .map_err(errors::query)?;
                let failures: BTreeMap<String, i32> = failures.into_iter().collect();
                let failed = days
                    .iter()
                    .map(|day| DayCount {
                        day: *day,
                        count: failures
                            .get(&day.format("%Y-%m-%d").to_string())
                            .map_or(0, |n| u64::try_from(*n).unwrap_or_default()),
                    })
                    .collect();
                Ok(UserStats {
                    total: by_status.values().sum(),
                    by_status,
                    active_1d: active[0],
                    active_7d: active[1],
                    active_30d: active[2],
                    mfa_enabled: count(mfa),
                    signups_per_day: signups,
                    logins_per_day: logins,
                    failed_logins_per_day: failed,
                })
            })
        })
        .await
    }
}
