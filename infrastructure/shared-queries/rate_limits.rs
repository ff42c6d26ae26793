//! `RateLimiter` (compiled into each adapter against its own schema).

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::RateLimiter;
use usvc_core::CoreError;

use crate::errors;
use crate::prepared::KeepPrepared as _;
use crate::schema::rate_limits;
use crate::store::Store;

#[async_trait]
impl RateLimiter for Store {
    async fn hit(
        &self,
        key: String,
        window_start: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, CoreError> {
        // Every key's old windows, not only this one's, so addresses that never come back do
        // not pile up (an index range scan on `window_start`); at most once a second per
        // process, as `forget_before` moves on: the hits in between are one statement each.
        let second = forget_before.timestamp();
        let sweep = self.rate_limits_swept.fetch_max(second, Ordering::AcqRel) < second;
        let hits: i32 = self
            .run(move |conn| {
                Box::pin(async move {
                    if sweep {
                        diesel::delete(
                            rate_limits::table.filter(rate_limits::window_start.lt(forget_before)),
                        )
                        .execute(conn)
                        .await
                        .map_err(errors::query)?;
                    }
                    // One atomic increment: concurrent requests on any replica all count.
                    diesel::insert_into(rate_limits::table)
                        .values((
                            rate_limits::key.eq(&key),
                            rate_limits::window_start.eq(window_start),
                            rate_limits::hits.eq(1),
                        ))
                        .on_conflict((rate_limits::key, rate_limits::window_start))
                        .do_update()
                        .set(rate_limits::hits.eq(rate_limits::hits + 1))
                        .returning(rate_limits::hits)
                        .prepared()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(u32::try_from(hits).unwrap_or(u32::MAX))
    }
}
