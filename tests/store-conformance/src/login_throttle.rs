use crate::audit;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use usvc_core::ports::{LoginThrottle, TenantRepository};

use crate::users::tenant;

fn lock_after_three(count: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (count >= 3).then(|| now + Duration::seconds(60))
}

pub(crate) async fn failures_count_lock_and_reset<S>(store: &S)
where
    S: TenantRepository + LoginThrottle,
{
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let now = Utc::now().trunc_subsecs(6);
    let email = || "ada@example.com".to_owned();
    for expected in 1..=2 {
        let n = store
            .record_failure(acme.id, email(), now, lock_after_three, &audit(acme.id))
            .await
            .expect("fail");
        assert_eq!(n, expected);
        assert_eq!(
            store
                .locked_until(acme.id, email(), now)
                .await
                .expect("check"),
            None
        );
    }
    assert_eq!(
        store
            .record_failure(acme.id, email(), now, lock_after_three, &audit(acme.id))
            .await
            .expect("fail"),
        3
    );
    let until = now + Duration::seconds(60);
    assert_eq!(
        store
            .locked_until(acme.id, email(), now)
            .await
            .expect("check"),
        Some(until)
    );
    assert_eq!(
        store
            .locked_until(acme.id, email(), until)
            .await
            .expect("check"),
        None,
        "the lock ends on time"
    );
    assert_eq!(
        store
            .locked_until(globex.id, email(), now)
            .await
            .expect("check"),
        None,
        "the same email in another tenant is another account"
    );
    store.reset(acme.id, email()).await.expect("reset");
    assert_eq!(
        store
            .locked_until(acme.id, email(), now)
            .await
            .expect("check"),
        None
    );
    assert_eq!(
        store
            .record_failure(acme.id, email(), now, lock_after_three, &audit(acme.id))
            .await
            .expect("fail"),
        1
    );
}

pub(crate) async fn concurrent_failures_all_count<S>(store: &S)
where
    S: TenantRepository + LoginThrottle + Clone + 'static,
{
    let acme = tenant(store, "acme").await;
    let now = Utc::now().trunc_subsecs(6);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record_failure(
                        acme.id,
                        "bob@example.com".into(),
                        now,
                        lock_after_three,
                        &audit(acme.id),
                    )
                    .await
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("join").expect("fail"));
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=8).collect::<Vec<u32>>(),
        "no failure is lost to a race"
    );
}
