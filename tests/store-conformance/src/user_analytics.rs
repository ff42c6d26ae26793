//! `UserAnalytics`: figures computed from stored users, sessions and failed logins.

use crate::audit;
use chrono::{Duration, SubsecRound, Utc};
use usvc_core::ports::{
    LoginThrottle, SessionRepository, TenantRepository, UserAnalytics, UserRepository,
};
use usvc_core::{Session, SessionId, UserStatus};

use crate::users::{tenant, user};

pub(crate) async fn figures_come_from_the_tables_and_stay_in_the_tenant<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository + LoginThrottle + UserAnalytics,
{
    let users: &dyn UserRepository = store;
    let now = Utc::now().trunc_subsecs(6);
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let mut ada = user(&acme, "ada@example.com");
    ada.last_login_at = Some(now - Duration::hours(2));
    ada.mfa_enabled = true;
    let mut bob = user(&acme, "bob@example.com");
    bob.status = UserStatus::Locked;
    bob.last_login_at = Some(now - Duration::days(5));
    let mut old = user(&acme, "old@example.com");
    old.created_at = now - Duration::days(3);
    for u in [&ada, &bob, &old, &user(&globex, "eve@globex.com")] {
        users
            .create(u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let session = Session {
        id: SessionId::new(),
        tenant_id: acme.id,
        user_id: ada.id,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: now + Duration::minutes(30),
        absolute_expires_at: now + Duration::hours(1),
        revoked_at: None,
        revoked_reason: None,
        ip: None,
        user_agent: None,
    };
    SessionRepository::create(store, &session, "r".into(), &audit(session.tenant_id))
        .await
        .expect("session");
    for _ in 0..2 {
        store
            .record_failure(
                acme.id,
                "ada@example.com".into(),
                now,
                |_, _| None,
                &audit(acme.id),
            )
            .await
            .expect("failure");
    }
    store
        .reset(acme.id, "ada@example.com".into())
        .await
        .expect("reset");

    let stats = store.user_stats(acme.id, now).await.expect("stats");
    assert_eq!(stats.total, 3, "the other tenant's user is not counted");
    assert_eq!(stats.by_status.get("active"), Some(&2));
    assert_eq!(stats.by_status.get("locked"), Some(&1));
    assert_eq!(stats.by_status.get("disabled"), Some(&0));
    assert_eq!(
        (stats.active_1d, stats.active_7d, stats.active_30d),
        (1, 2, 2)
    );
    assert_eq!(stats.mfa_enabled, 1);
    let last = |s: &[usvc_core::DayCount]| s.last().map(|d| (d.day, d.count));
    assert_eq!(stats.signups_per_day.len(), 30);
    assert_eq!(last(&stats.signups_per_day), Some((now.date_naive(), 2)));
    let three_ago = now.date_naive() - Duration::days(3);
    assert!(stats
        .signups_per_day
        .iter()
        .any(|d| d.day == three_ago && d.count == 1));
    assert_eq!(last(&stats.logins_per_day), Some((now.date_naive(), 1)));
    assert_eq!(
        last(&stats.failed_logins_per_day),
        Some((now.date_naive(), 2)),
        "a later success resets the lockout, not the history"
    );
}
