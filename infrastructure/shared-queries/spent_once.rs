//! `SpentOnce`: single-use proofs (client assertions, passkey sign-in challenges) spent in one
//! table (compiled into each adapter against its own schema).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::{SingleUse, SpentOnce};
use usvc_core::CoreError;

use crate::errors;
use crate::schema::spent_once;
use crate::store::Store;

#[async_trait]
impl SpentOnce for Store {
    async fn spend(
        &self,
        kind: SingleUse,
        key: String,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                let spend = async move {
                    // Forgotten only once they could no longer be presented: the proof's own
                    // expiry check refuses them from then on.
                    diesel::delete(spent_once::table.filter(spent_once::expires_at.le(now)))
                        .execute(conn)
                        .await?;
                    diesel::insert_into(spent_once::table)
                        .values((
                            spent_once::kind.eq(kind.as_str()),
                            spent_once::key.eq(key),
                            spent_once::expires_at.eq(expires_at),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)
                        .await
                        .map(|inserted| inserted > 0)
                };
                spend.await.map_err(errors::query)
            })
        })
        .await
    }
}
