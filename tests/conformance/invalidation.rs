//! Cache invalidation between replicas over Postgres `LISTEN/NOTIFY`. (In-process invalidation,
//! the SQLite deployment's, is covered by usvc-cache's own tests.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use usvc_core::ports::{Invalidation, InvalidationMessage};
use usvc_postgres::PgInvalidation;

type Inbox = Arc<Mutex<Vec<InvalidationMessage>>>;

const TIMEOUT: Duration = Duration::from_secs(10);

fn inbox(bus: &PgInvalidation) -> Inbox {
    let inbox: Inbox = Arc::default();
    let sink = Arc::clone(&inbox);
    bus.subscribe(Arc::new(move |m: &InvalidationMessage| {
        sink.lock().expect("lock").push(m.clone());
    }));
    inbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_invalidation_reaches_the_other_replica_once() {
    let Some((store, db)) = usvc_tests::postgres_store().await else {
        return;
    };
    let publisher = PgInvalidation::start(&db.url, store.clone(), TIMEOUT, &Handle::current())
        .await
        .expect("publisher listener");
    let replica = PgInvalidation::start(&db.url, store, TIMEOUT, &Handle::current())
        .await
        .expect("replica listener");
    let (publisher_saw, replica_saw) = (inbox(&publisher), inbox(&replica));

    let message = InvalidationMessage {
        cache: "user-sessions".into(),
        key: Some("0190a0a0-0000-7000-8000-000000000000".into()),
    };
    publisher.publish(message.clone()).await.expect("publish");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while replica_saw.lock().expect("lock").is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*replica_saw.lock().expect("lock"), vec![message.clone()]);
    // The publisher applied it locally at once and ignores its own echo.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*publisher_saw.lock().expect("lock"), vec![message]);
}
