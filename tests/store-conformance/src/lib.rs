//! The store conformance suite: what every repository port promises, as scenarios any store
//! adapter can be run against. Both of the service's stores pass it (`tests/conformance`
//! runs it on SQLite and on Postgres); a team writing its own adapter runs it on theirs:
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn my_store_conforms() {
//!     // A fresh, migrated store per scenario (and whatever keeps it alive, dropped after).
//!     usvc_store_conformance::run_all(|| async { Some((MyStore::connect().await, ())) }).await;
//! }
//! ```
//!
//! A store is any `Clone` type implementing [`usvc_core::ports::Store`] (every repository port
//! and the health check); clones share the underlying database, as pool handles do. Each
//! scenario gets a store of its own; they run a few at a time; every failure is reported with
//! the scenario's name (`projects::history_and_restore`), which `run_matching` accepts to run
//! one again.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // a failed promise panics with its reason.
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures::{FutureExt as _, StreamExt as _};
use usvc_core::ports::Store;

mod action_tokens;
mod audit;
mod consents;
mod executions;
mod login_throttle;
mod mfa;
mod oauth_clients;
mod passkeys;
mod platform;
mod projects;
mod rate_limits;
mod roles;
mod sessions;
mod signing_keys;
mod spent_once;
mod tenants;
mod triggers;
mod user_admin;
mod user_analytics;
mod users;
mod workflows;

/// Scenarios running at once (each on its own store): as many as the test harness ran at
/// once on this suite's 2-core machine before it became a library.
const AT_ONCE: usize = 2;

/// What the scenarios start from, for a store's own tests of what only it has
/// (`tests/conformance/refresh_lock.rs`: a race only Postgres can have).
pub mod fixtures {
    pub use crate::sessions::session;
    pub use crate::users::{tenant, user};
}

/// One promise of the ports, checked on a store.
pub struct Scenario<S> {
    /// `module::name`, as reported.
    pub name: &'static str,
    /// Runs it; a broken promise panics with what was expected.
    pub run: for<'a> fn(&'a S) -> Pin<Box<dyn Future<Output = ()> + 'a>>,
}

macro_rules! scenario {
    ($name:literal, $body:path) => {
        Scenario {
            name: $name,
            run: |store| Box::pin($body(store)),
        }
    };
}

/// Every scenario, by module.
pub fn all<S: Store + Clone>() -> Vec<Scenario<S>> {
    vec![
        scenario!(
            "action_tokens::password_reset_tokens",
            action_tokens::a_reset_token_sets_the_password_and_ends_sessions_once
        ),
        scenario!(
            "action_tokens::verification_tokens",
            action_tokens::a_verification_token_proves_only_the_address_it_was_sent_to
        ),
        scenario!(
            "audit::audit_chains",
            audit::chains_are_per_tenant_gapless_and_roll_back_with_their_change
        ),
        scenario!(
            "audit::audit_queue",
            audit::queued_entries_are_chained_once_in_order_by_any_sequencer
        ),
        scenario!(
            "audit::many_tenants_waiting",
            audit::a_sequencing_pass_reaches_every_waiting_tenant
        ),
        scenario!(
            "executions::executions",
            executions::steps_are_claimed_once_leased_and_changed_under_lock
        ),
        scenario!(
            "executions::fair_claims",
            executions::claims_serve_tenants_in_turn_within_their_quotas
        ),
        scenario!(
            "executions::room",
            executions::changes_that_claim_are_told_the_tenants_room
        ),
        scenario!(
            "executions::tasks",
            executions::tasks_are_written_with_their_execution_and_read_by_their_audience
        ),
        scenario!(
            "login_throttle::throttle_counts",
            login_throttle::failures_count_lock_and_reset
        ),
        scenario!(
            "login_throttle::throttle_concurrency",
            login_throttle::concurrent_failures_all_count
        ),
        scenario!(
            "mfa::totp_credentials",
            mfa::totp_enrolment_confirms_once_and_each_step_is_used_once
        ),
        scenario!(
            "mfa::recovery_codes",
            mfa::recovery_codes_are_single_use_and_replaceable
        ),
        scenario!(
            "mfa::mfa_challenges",
            mfa::challenges_expire_count_attempts_and_are_consumed_once
        ),
        scenario!(
            "platform::create_with_owner",
            platform::a_tenant_and_its_owner_are_created_together_or_not_at_all
        ),
        scenario!(
            "platform::disable_tenant",
            platform::disabling_a_tenant_revokes_its_sessions_and_stale_saves_are_refused
        ),
        scenario!(
            "platform::platform_grant",
            platform::the_platform_grant_is_held_by_live_users_only
        ),
        scenario!(
            "projects::project_round_trip",
            projects::projects_round_trip_with_owner_and_history_and_stay_in_their_tenant
        ),
        scenario!(
            "projects::project_listing",
            projects::listing_filters_by_status_tag_member_name_and_visibility
        ),
        scenario!(
            "projects::project_members",
            projects::members_come_and_go_but_a_project_keeps_an_owner
        ),
        scenario!(
            "projects::project_access",
            projects::access_lists_name_visibility_and_member_roles
        ),
        scenario!(
            "projects::project_bulk",
            projects::bulk_changes_apply_to_what_is_still_as_read_and_report_the_rest
        ),
        scenario!(
            "projects::project_idempotency",
            projects::an_idempotency_key_is_kept_with_its_project_and_only_with_it
        ),
        scenario!(
            "projects::project_analytics",
            projects::analytics_count_live_projects_and_name_only_visible_ones
        ),
        scenario!(
            "projects::project_sorting",
            projects::every_sort_pages_through_every_project_once
        ),
        scenario!(
            "projects::concurrent_creates",
            projects::concurrent_creates_commit_each_whole_and_a_clash_fails_alone
        ),
        scenario!(
            "projects::project_outbox",
            projects::every_change_stages_its_event_in_its_own_transaction
        ),
        scenario!(
            "projects::census",
            projects::the_census_counts_live_things_across_tenants
        ),
        scenario!(
            "rate_limits::rate_limits",
            rate_limits::windows_count_every_hit_once_and_old_ones_are_forgotten
        ),
        scenario!(
            "oauth_clients::round_trip",
            oauth_clients::clients_round_trip_and_stay_in_their_tenant
        ),
        scenario!(
            "passkeys::round_trip",
            passkeys::passkeys_belong_to_their_user_and_go_with_them
        ),
        scenario!(
            "oauth_grants::old_codes",
            oauth_clients::old_codes_are_forgotten
        ),
        scenario!(
            "consents::one_per_application",
            consents::consents_are_one_per_application_and_go_with_their_user
        ),
        scenario!(
            "spent_once::per_kind",
            spent_once::proofs_are_spent_once_per_kind
        ),
        scenario!(
            "roles::custom_roles",
            roles::custom_roles_round_trip_stay_in_their_tenant_and_cannot_be_deleted_while_held
        ),
        scenario!(
            "sessions::sessions_round_trip",
            sessions::sessions_round_trip_within_their_tenant
        ),
        scenario!(
            "sessions::refresh_rotation",
            sessions::a_refresh_token_rotates_once_and_its_replay_revokes_the_session
        ),
        scenario!(
            "sessions::rotation_user",
            sessions::a_rotation_returns_its_user_as_stored_now
        ),
        scenario!(
            "sessions::concurrent_refreshes",
            sessions::concurrent_refreshes_rotate_each_their_own_session_once
        ),
        scenario!(
            "sessions::ended_sessions",
            sessions::unknown_tokens_and_ended_sessions_do_not_refresh
        ),
        scenario!(
            "sessions::rotation_windows",
            sessions::a_rotation_moves_the_idle_expiry_by_the_exact_window_up_to_the_absolute_one
        ),
        scenario!(
            "sessions::concurrent_refresh",
            sessions::concurrent_presentations_of_one_token_rotate_exactly_once
        ),
        scenario!(
            "sessions::list_and_revoke_all",
            sessions::live_sessions_are_listed_and_revoked_together
        ),
        scenario!(
            "signing_keys::signing_keys_round_trip",
            signing_keys::keys_round_trip_newest_first
        ),
        scenario!(
            "signing_keys::signing_keys_retire",
            signing_keys::retiring_keeps_the_active_key_and_newer_ones
        ),
        scenario!(
            "tenants::create_then_read_back",
            tenants::create_then_read_back_by_id_and_slug
        ),
        scenario!(
            "tenants::unknown_is_none",
            tenants::unknown_ids_and_slugs_are_none
        ),
        scenario!(
            "tenants::duplicate_slug",
            tenants::a_taken_slug_is_a_conflict_and_writes_nothing
        ),
        scenario!(
            "tenants::list_pages",
            tenants::list_walks_every_tenant_once_in_creation_order
        ),
        scenario!(
            "tenants::forged_cursor",
            tenants::a_forged_cursor_is_a_validation_error
        ),
        scenario!(
            "triggers::triggers",
            triggers::triggers_index_active_workflows_and_start_once
        ),
        scenario!(
            "user_admin::user_updates",
            user_admin::updates_change_every_mutable_field_and_respect_email_uniqueness
        ),
        scenario!(
            "user_admin::user_listing",
            user_admin::listing_filters_by_status_role_and_prefix_and_pages_in_id_order
        ),
        scenario!(
            "user_admin::user_batch_reads",
            user_admin::batch_reads_and_email_checks_stay_in_the_tenant
        ),
        scenario!(
            "user_admin::bulk_creation",
            user_admin::bulk_creation_stores_all_or_nothing
        ),
        scenario!(
            "user_admin::user_erasure",
            user_admin::erasure_removes_personal_data_and_ends_sessions_but_keeps_the_id
        ),
        scenario!(
            "user_admin::tenant_settings",
            user_admin::tenant_settings_round_trip
        ),
        scenario!(
            "user_admin::last_owner_guard",
            user_admin::two_owners_demoting_each_other_at_once_leave_one_owner
        ),
        scenario!(
            "user_analytics::user_analytics",
            user_analytics::figures_come_from_the_tables_and_stay_in_the_tenant
        ),
        scenario!(
            "users::users_round_trip",
            users::users_round_trip_and_log_in_case_insensitively
        ),
        scenario!(
            "users::unique_emails",
            users::emails_are_unique_per_tenant_case_insensitively
        ),
        scenario!(
            "users::tenant_scoping",
            users::other_tenants_users_are_invisible
        ),
        scenario!(
            "users::passwords_and_logins",
            users::password_hashes_are_set_or_replaced_and_logins_recorded
        ),
        scenario!(
            "workflows::workflows",
            workflows::workflows_keep_every_version_and_stay_in_their_tenant
        ),
    ]
}

/// Runs every scenario, each on a store `make` returns (`None`: this store is not available
/// here, and the suite is skipped), and panics listing every scenario that failed.
pub async fn run_all<S, G, F, Fut>(make: F)
where
    S: Store + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = Option<(S, G)>>,
{
    run_matching(make, "").await;
}

/// Runs the scenarios whose name contains `filter` (all for `""`), as [`run_all`] does.
pub async fn run_matching<S, G, F, Fut>(make: F, filter: &str)
where
    S: Store + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = Option<(S, G)>>,
{
    let chosen: Vec<Scenario<S>> = all()
        .into_iter()
        .filter(|s| s.name.contains(filter))
        .collect();
    assert!(!chosen.is_empty(), "no scenario matches `{filter}`");
    run(chosen, make).await;
}

/// Runs `chosen`, [`AT_ONCE`] at a time, each on a store of its own; panics listing each
/// that failed, with its reason.
async fn run<S, G, F, Fut>(chosen: Vec<Scenario<S>>, make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<(S, G)>>,
{
    let total = chosen.len();
    let make = &make;
    let outcomes: Vec<Option<(&str, Result<(), String>)>> = futures::stream::iter(chosen)
        .map(|scenario| async move {
            let (store, guard) = make().await?;
            let outcome = AssertUnwindSafe((scenario.run)(&store))
                .catch_unwind()
                .await
                .map_err(|panic| {
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_else(|| "a panic without a message".to_owned())
                });
            drop((store, guard));
            Some((scenario.name, outcome))
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    if outcomes.iter().all(Option::is_none) {
        eprintln!("store conformance: the store is not available here; {total} scenarios skipped");
        return;
    }
    let failed: Vec<String> = outcomes
        .into_iter()
        .flatten()
        .filter_map(|(name, outcome)| outcome.err().map(|why| format!("{name}: {why}")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {total} store conformance scenarios failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// An audit entry for a change made directly through a repository in a scenario: the
/// repositories append it in the change's transaction, so the scenarios exercise that path too.
pub(crate) fn audit(tenant: usvc_core::TenantId) -> usvc_core::AuditEntry {
    usvc_core::AuditEntry::system(tenant, "test.change", chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use futures::FutureExt as _;

    use super::{run, Scenario};

    #[tokio::test]
    async fn every_broken_promise_is_reported_by_name_and_the_rest_still_run() {
        let scenarios = vec![
            Scenario::<()> {
                name: "a::kept",
                run: |()| Box::pin(async {}),
            },
            Scenario::<()> {
                name: "b::broken",
                run: |()| Box::pin(async { panic!("kept no promise") }),
            },
            Scenario::<()> {
                name: "c::broken_too",
                run: |()| Box::pin(async { assert_eq!(1, 2, "one is not two") }),
            },
        ];
        let failure = AssertUnwindSafe(run(scenarios, || async { Some(((), ())) }))
            .catch_unwind()
            .await
            .expect_err("the suite fails");
        let report = failure.downcast_ref::<String>().expect("a report");
        assert!(
            report.starts_with("2 of 3 store conformance scenarios failed"),
            "{report}"
        );
        assert!(report.contains("b::broken: kept no promise"), "{report}");
        assert!(report.contains("c::broken_too: assertion"), "{report}");
        assert!(!report.contains("a::kept"), "{report}");
    }

    #[tokio::test]
    async fn a_store_that_is_not_available_skips_the_suite() {
        let scenarios = vec![Scenario::<()> {
            name: "a::never",
            run: |()| Box::pin(async { panic!("must not run") }),
        }];
        run(scenarios, || async { None::<((), ())> }).await;
    }
}
