//! A refresh racing a logout on Postgres, where a refresh is one statement
//! (`rotate_refreshes_at_once`, ADR 0027): it moves the session with an `UPDATE` whose
//! conditions Postgres re-checks once it holds the row lock, so a revocation committing while
//! the refresh waits for that lock ends the refresh — the caller
//! must not get a fresh token pair for a session that was logged out before it was answered.
//! (SQLite runs one writer at a time, so there is no such race to test there.) Also: a token
//! whose session row is gone refreshes nothing (SQLite's key to the session forbids one).

use std::sync::Arc;
use std::time::Duration;

use usvc_core::ports::{SessionRepository, UserRepository};
use usvc_core::RefreshOutcome;
use usvc_store_conformance::fixtures::{session, tenant, user};
use usvc_tests::audit;

/// How long the revoking transaction holds the session's row before it commits: long enough
/// for the refresh to start and queue behind it on a slow machine.
const HOLD_SECONDS: u32 = 8;

/// Polls `sql` (a `SELECT`) until it returns a row or `limit` passes; whether it did.
async fn seen(db: &usvc_postgres::testing::TestDatabase, sql: &str, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        // A `SELECT`'s affected-row count is the number of rows it returned.
        if db.execute(sql).await.expect("poll pg_stat_activity") > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Ada of tenant acme, logged in for 30 idle minutes: her session, its refresh token
/// `refresh-1`.
async fn logged_in<S>(store: &S) -> usvc_core::Session
where
    S: usvc_core::ports::TenantRepository + UserRepository + SessionRepository,
{
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    UserRepository::create(store, &ada, None, &audit(acme.id))
        .await
        .expect("user");
    let session = session(&acme, &ada, chrono::Duration::minutes(30));
    SessionRepository::create(store, &session, "refresh-1".into(), &audit(acme.id))
        .await
        .expect("session");
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_committing_while_a_refresh_waits_ends_the_refresh() {
    let Some((store, db)) = usvc_tests::postgres_store().await else {
        return;
    };
    let db = Arc::new(db);
    let session = logged_in(&store).await;

    // Another connection locks the session's row, sleeps, then logs the session out and
    // commits: one transaction (a DO block), as a logout on another replica would be.
    let logout = format!(
        "DO $$ BEGIN \
           PERFORM 1 FROM sessions WHERE id = '{id}' FOR UPDATE; \
           PERFORM pg_sleep({HOLD_SECONDS}); \
           UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = '{id}'; \
         END $$",
        id = session.id
    );
    let holder = {
        let db = Arc::clone(&db);
        tokio::spawn(async move { db.execute(&logout).await })
    };
    assert!(
        seen(
            &db,
            "SELECT 1 FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event = 'PgSleep'",
            Duration::from_secs(10),
        )
        .await,
        "the logout never took the session's row"
    );

    let later = session.last_seen_at + chrono::Duration::minutes(1);
    let refresh = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .rotate_refresh("refresh-1".into(), "refresh-2".into(), later)
                .await
        })
    };
    let waited = seen(
        &db,
        "SELECT 1 FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
        Duration::from_secs(u64::from(HOLD_SECONDS)),
    )
    .await;
    holder
        .await
        .expect("logout task")
        .expect("logout committed");
    let outcome = refresh.await.expect("refresh task").expect("refresh");
    assert!(
        waited,
        "the refresh did not wait for the session's row lock (it answered {outcome:?})"
    );
    assert_eq!(
        outcome,
        RefreshOutcome::Invalid,
        "a refresh answered after the logout committed must not rotate"
    );
    // Nothing was issued in its place.
    let next = store
        .rotate_refresh("refresh-2".into(), "refresh-3".into(), later)
        .await
        .expect("refresh");
    assert_eq!(next, RefreshOutcome::Invalid);
    let stored = SessionRepository::get(&store, session.tenant_id, session.id)
        .await
        .expect("get")
        .expect("the session");
    assert_eq!(stored.revoked_reason.as_deref(), Some("logout"));
}

/// A refresh token whose session row is gone (Postgres keeps no key from a token to its
/// session, ADR 0032, so an operator deleting old sessions by hand can leave one): presented,
/// fresh or spent, it refreshes nothing and is no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_whose_session_is_gone_refreshes_nothing() {
    let Some((store, db)) = usvc_tests::postgres_store().await else {
        return;
    };
    let session = logged_in(&store).await;
    let later = session.last_seen_at + chrono::Duration::minutes(1);
    // Spent once, so the next presentation is a replay of a token whose session is gone.
    assert!(matches!(
        store
            .rotate_refresh("refresh-1".into(), "refresh-2".into(), later)
            .await,
        Ok(RefreshOutcome::Rotated(..))
    ));
    db.execute(&format!("DELETE FROM sessions WHERE id = '{}'", session.id))
        .await
        .expect("delete the session");
    for (presented, next) in [("refresh-2", "refresh-3"), ("refresh-1", "refresh-4")] {
        let outcome = store
            .rotate_refresh(presented.into(), next.into(), later)
            .await;
        assert_eq!(
            outcome.ok(),
            Some(RefreshOutcome::Invalid),
            "{presented}: no session, no refresh"
        );
    }
}
