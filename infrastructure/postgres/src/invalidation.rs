//! Cache invalidation across replicas over `LISTEN/NOTIFY`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use usvc_core::ports::{
    Invalidation, InvalidationHandler, InvalidationMessage, InvalidationSubscribers,
};
use usvc_core::CoreError;
use uuid::Uuid;

use crate::backend::Connection;
use crate::errors;
use crate::store::Store;

const CHANNEL: &str = "usvc_invalidation";
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wire form of a notification: the message plus the replica that sent it.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: Uuid,
    #[serde(flatten)]
    message: InvalidationMessage,
}

/// `Invalidation` for many replicas on one Postgres database.
///
/// `publish` applies the message locally at once, then `pg_notify`s it; a listener task on a
/// dedicated connection applies other replicas' messages. If the listener loses its connection
/// it reconnects with backoff and then clears every cache (cache `*`), because notifications
/// sent while it was away are lost: staleness is bounded by the reconnect, never unbounded.
pub struct PgInvalidation {
    origin: Uuid,
    store: Store,
    subscribers: InvalidationSubscribers,
}

impl PgInvalidation {
    /// Starts listening on `url` (on `runtime`) and publishes through `store`. Returns once the
    /// first `LISTEN` is in place, so nothing published after start-up is missed.
    pub async fn start(url: &str, store: Store, runtime: &Handle) -> Result<Arc<Self>, CoreError> {
        let bus = Arc::new(Self {
            origin: Uuid::now_v7(),
            store,
            subscribers: InvalidationSubscribers::default(),
        });
        let first = listen(url).await?;
        runtime.spawn(listen_forever(url.to_owned(), first, Arc::downgrade(&bus)));
        Ok(bus)
    }
}

async fn listen(url: &str) -> Result<Connection, CoreError> {
    let mut conn = Connection::establish(url)
        .await
        .map_err(|e| CoreError::Unavailable(format!("invalidation listener: {e}")))?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await
        .map_err(errors::query)?;
    Ok(conn)
}

async fn listen_forever(url: String, mut conn: Connection, bus: std::sync::Weak<PgInvalidation>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        {
            let mut stream = std::pin::pin!(conn.notifications_stream());
            while let Some(item) = stream.next().await {
                let Some(bus) = bus.upgrade() else { return };
                match item {
                    Ok(note) => match serde_json::from_str::<Envelope>(&note.payload) {
                        Ok(env) if env.origin != bus.origin => {
                            bus.subscribers.deliver(&env.message);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "malformed invalidation payload"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "invalidation listener error");
                        break;
                    }
                }
            }
        }
        tracing::warn!("invalidation listener disconnected; reconnecting");
        conn = loop {
            if bus.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(backoff).await;
            match listen(&url).await {
                Ok(conn) => break conn,
                Err(e) => {
                    tracing::warn!(error = %e, "invalidation listener reconnect failed");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        backoff = Duration::from_millis(250);
        let Some(bus) = bus.upgrade() else { return };
        tracing::info!("invalidation listener reconnected; clearing caches");
        bus.subscribers.deliver(&InvalidationMessage {
            cache: "*".into(),
            key: None,
        });
    }
}

#[async_trait]
impl Invalidation for PgInvalidation {
    async fn publish(&self, message: InvalidationMessage) -> Result<(), CoreError> {
        self.subscribers.deliver(&message);
        let payload = serde_json::to_string(&Envelope {
            origin: self.origin,
            message,
        })
        .map_err(|e| CoreError::Internal(format!("invalidation payload: {e}")))?;
        self.store
            .run(move |conn| {
                Box::pin(async move {
                    diesel::sql_query("SELECT pg_notify($1, $2)")
                        .bind::<Text, _>(CHANNEL)
                        .bind::<Text, _>(payload)
                        .execute(conn)
                        .await
                        .map_err(errors::query)?;
                    Ok(())
                })
            })
            .await
    }

    fn subscribe(&self, handler: InvalidationHandler) {
        self.subscribers.add(handler);
    }
}
