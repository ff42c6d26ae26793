use chrono::{Duration, SubsecRound, Utc};
use usvc_core::ports::{SigningKeyRepository, StoredSigningKey};
use usvc_core::CoreError;

fn key(kid: &str, age_minutes: i64) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.to_owned(),
        algorithm: "EdDSA".into(),
        public_key: format!("public-{kid}"),
        sealed_private_key: vec![1, 0, 255, 7, 42],
        created_at: (Utc::now() - Duration::minutes(age_minutes)).trunc_subsecs(6),
        retired_at: None,
    }
}

pub(crate) async fn keys_round_trip_newest_first(repo: &dyn SigningKeyRepository) {
    assert!(repo.live().await.expect("live").is_empty());
    let (old, new) = (key("old", 60), key("new", 1));
    repo.insert(&old).await.expect("insert");
    repo.insert(&new).await.expect("insert");
    assert_eq!(
        repo.live().await.expect("live"),
        vec![new, old],
        "newest first, bytes intact"
    );
    match repo.insert(&key("new", 0)).await {
        Err(CoreError::Conflict(_)) => {}
        other => panic!("a duplicate kid must conflict, got {other:?}"),
    }
}

pub(crate) async fn retiring_keeps_the_active_key_and_newer_ones(repo: &dyn SigningKeyRepository) {
    for (kid, age) in [("a", 300), ("b", 200), ("c", 100), ("d", 1)] {
        repo.insert(&key(kid, age)).await.expect("insert");
    }
    let cutoff = Utc::now() - Duration::minutes(150);
    let retired = repo
        .retire_older(cutoff, "a", Utc::now())
        .await
        .expect("retire");
    assert_eq!(
        retired, 1,
        "only b: a is kept, c and d are newer than the cutoff"
    );
    let live: Vec<String> = repo
        .live()
        .await
        .expect("live")
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(live, ["d", "c", "a"]);
}
