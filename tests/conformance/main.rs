//! The store conformance suite (`usvc-store-conformance`: every repository port's promises)
//! run on SQLite and on Postgres (when `TEST_DATABASE_URL` is set; required in CI by
//! `REQUIRE_POSTGRES=1`), plus what only one backend has: its pool report, and Postgres's
//! `LISTEN/NOTIFY` invalidation between replicas, its refresh's row lock against a logout, and
//! a refresh token whose session row is gone (Postgres keeps no key between them).
//!
//! `STORE_SCENARIOS=projects::` runs only the scenarios whose name contains it.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.

mod health;
mod invalidation;
mod refresh_lock;

fn chosen() -> String {
    std::env::var("STORE_SCENARIOS").unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_promise_of_the_ports() {
    usvc_store_conformance::run_matching(
        || async { Some(usvc_tests::sqlite_store().await) },
        &chosen(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_promise_of_the_ports() {
    usvc_store_conformance::run_matching(usvc_tests::postgres_store, &chosen()).await;
}
