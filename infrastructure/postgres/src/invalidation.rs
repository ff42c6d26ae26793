//! Cache invalidation across replicas over `LISTEN/NOTIFY`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::task::AbortHandle;
use usvc_core::ports::{
    Invalidation, InvalidationHandler, InvalidationMessage, InvalidationSubscribers,
};
use usvc_core::CoreError;
use uuid::Uuid;

use crate::backend::Connection;
use crate::connect::connect;
use crate::errors;
use crate::prepared::KeepPrepared as _;
use crate::store::Store;

const CHANNEL: &str = "usvc_invalidation";
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often an idle listener proves its connection is alive (a half-open TCP connection
/// never reports an error by itself).
const PING_EVERY: Duration = Duration::from_secs(15);

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
/// dedicated connection applies other replicas' messages. Notifications sent while the listener
/// is disconnected are lost, so on losing its connection it clears every cache (cache `*`) and
/// keeps clearing them until it is back: a replica that cannot hear invalidations serves
/// nothing from cache that it could not re-check. The listener pings its connection every 15 s
/// to notice a silently dead one.
pub struct PgInvalidation {
    origin: Uuid,
    store: Store,
    subscribers: InvalidationSubscribers,
    connected: AtomicBool,
    listener: Mutex<Option<AbortHandle>>,
}

impl PgInvalidation {
    /// Starts listening on `url` (on `runtime`) and publishes through `store`. Returns once the
    /// first `LISTEN` is in place, so nothing published after start-up is missed.
    pub async fn start(
        url: &str,
        store: Store,
        connect_timeout: Duration,
        runtime: &Handle,
    ) -> Result<Arc<Self>, CoreError> {
        let bus = Arc::new(Self {
            origin: Uuid::now_v7(),
            store,
            subscribers: InvalidationSubscribers::default(),
            connected: AtomicBool::new(false),
            listener: Mutex::new(None),
        });
        let first = listen(url, connect_timeout).await?;
        bus.connected.store(true, Ordering::SeqCst);
        let task = runtime.spawn(listen_forever(
            url.to_owned(),
            connect_timeout,
            first,
            Arc::downgrade(&bus),
        ));
        if let Ok(mut slot) = bus.listener.lock() {
            *slot = Some(task.abort_handle());
        }
        Ok(bus)
    }

    fn clear_all(&self) {
        self.subscribers.deliver(&InvalidationMessage {
            cache: "*".into(),
            key: None,
        });
    }
}

impl Drop for PgInvalidation {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.listener.lock() {
            if let Some(task) = slot.take() {
                task.abort();
            }
        }
    }
}

async fn listen(url: &str, connect_timeout: Duration) -> Result<Connection, CoreError> {
    let mut conn = connect(url, connect_timeout, "invalidation listener").await?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await
        .map_err(errors::query)?;
    Ok(conn)
}

/// Applies notifications until the connection fails or a ping goes unanswered.
async fn serve(conn: &mut Connection, bus: &Weak<PgInvalidation>, ping_timeout: Duration) {
    loop {
        {
            let mut stream = std::pin::pin!(conn.notifications_stream());
            let deadline = tokio::time::sleep(PING_EVERY);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    item = stream.next() => {
                        let Some(bus) = bus.upgrade() else { return };
                        match item {
                            Some(Ok(note)) => match serde_json::from_str::<Envelope>(&note.payload) {
                                Ok(env) if env.origin != bus.origin => {
                                    bus.subscribers.deliver(&env.message);
                                }
                                Ok(_) => {}
                                Err(e) => tracing::warn!(error = %e, "malformed invalidation payload"),
                            },
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "invalidation listener error");
                                return;
                            }
                            None => return,
                        }
                    }
                    () = &mut deadline => break,
                }
            }
        }
        // Notifications queue inside the connection while the stream is rebuilt: none are lost.
        if bus.strong_count() == 0 {
            return;
        }
        let ping = diesel::sql_query("SELECT 1").execute(conn);
        if !matches!(tokio::time::timeout(ping_timeout, ping).await, Ok(Ok(_))) {
            tracing::warn!("invalidation listener ping failed");
            return;
        }
    }
}

async fn listen_forever(
    url: String,
    connect_timeout: Duration,
    mut conn: Connection,
    bus: Weak<PgInvalidation>,
) {
    loop {
        serve(&mut conn, &bus, connect_timeout).await;
        let Some(strong) = bus.upgrade() else { return };
        strong.connected.store(false, Ordering::SeqCst);
        tracing::warn!("invalidation listener disconnected; clearing caches and reconnecting");
        strong.clear_all();
        drop(strong);
        let mut backoff = Duration::from_millis(250);
        conn = loop {
            tokio::time::sleep(backoff).await;
            let Some(strong) = bus.upgrade() else { return };
            match listen(&url, connect_timeout).await {
                Ok(conn) => break conn,
                Err(e) => {
                    tracing::warn!(error = %e, "invalidation listener reconnect failed");
                    // Anything cached meanwhile was cached without invalidations: drop it.
                    strong.clear_all();
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        let Some(strong) = bus.upgrade() else { return };
        // Clear once more: entries loaded between the last clear and the LISTEN may be stale.
        strong.clear_all();
        strong.connected.store(true, Ordering::SeqCst);
        tracing::info!("invalidation listener reconnected");
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
                        .prepared()
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

    fn is_connected(&self) -> bool {
        AtomicBool::load(&self.connected, Ordering::SeqCst)
    }
}
