//! `RateLimiter`: atomic fixed-window counters.

use chrono::{Duration, DurationRound, Utc};
use usvc_core::ports::RateLimiter;

pub(crate) async fn windows_count_every_hit_once_and_old_ones_are_forgotten<S>(store: &S)
where
    S: RateLimiter + Clone + 'static,
{
    let window = Utc::now()
        .duration_trunc(Duration::minutes(1))
        .expect("trunc");
    let previous = window - Duration::minutes(1);
    let limiter: &dyn RateLimiter = store;
    for expected in 1..=3 {
        let hits = limiter
            .hit("ip:a".into(), previous, previous - Duration::minutes(1))
            .await
            .expect("hit");
        assert_eq!(hits, expected);
    }
    assert_eq!(
        limiter
            .hit("ip:b".into(), window, previous)
            .await
            .expect("hit"),
        1,
        "keys are separate"
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.hit("ip:a".into(), window, previous).await })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("join").expect("hit"));
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=8).collect::<Vec<u32>>(),
        "a new window; concurrent hits all count"
    );
    limiter
        .hit("ip:c".into(), previous, previous - Duration::minutes(1))
        .await
        .expect("hit");
    // Forgetting everything before this window drops the old ones, of every key.
    assert_eq!(
        limiter
            .hit("ip:a".into(), previous, window)
            .await
            .expect("hit"),
        1
    );
    assert_eq!(
        limiter
            .hit("ip:c".into(), previous, previous - Duration::minutes(1))
            .await
            .expect("hit"),
        1,
        "another key's old window went too"
    );
}
