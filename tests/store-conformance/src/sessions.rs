use crate::audit;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use usvc_core::ports::{SessionRepository, TenantRepository, UpdateOutcome, UserRepository};
use usvc_core::{RefreshOutcome, Session, SessionId, Tenant, User, UserStatus};

use crate::users::{tenant, user};

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A live session of `user` that started now, idle for at most `idle` (not stored).
pub fn session(tenant: &Tenant, user: &User, idle: Duration) -> Session {
    let now = now();
    Session {
        id: SessionId::new(),
        tenant_id: tenant.id,
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: now + idle,
        absolute_expires_at: now + Duration::hours(12),
        revoked_at: None,
        revoked_reason: None,
        ip: Some("203.0.113.7".into()),
        user_agent: Some("curl/8".into()),
    }
}

/// Tenant `acme` and its user ada, stored.
async fn acme_and_ada<S>(store: &S) -> (Tenant, User)
where
    S: TenantRepository + UserRepository,
{
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    UserRepository::create(store, &ada, None, &audit(ada.tenant_id))
        .await
        .expect("user");
    (acme, ada)
}

async fn logged_in<S>(store: &S, idle: Duration) -> (Tenant, Session)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let (acme, ada) = acme_and_ada(store).await;
    let s = session(&acme, &ada, idle);
    SessionRepository::create(store, &s, "refresh-1".into(), &audit(s.tenant_id))
        .await
        .expect("session");
    (acme, s)
}

pub(crate) async fn sessions_round_trip_within_their_tenant<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let (acme, s) = logged_in(store, Duration::minutes(30)).await;
    let globex = tenant(store, "globex").await;
    assert_eq!(
        SessionRepository::get(store, acme.id, s.id)
            .await
            .expect("get"),
        Some(s.clone())
    );
    assert_eq!(
        SessionRepository::get(store, globex.id, s.id)
            .await
            .expect("get"),
        None
    );
    assert!(!store
        .revoke(globex.id, s.id, "logout".into(), now(), &audit(globex.id))
        .await
        .expect("revoke"));
}

pub(crate) async fn a_refresh_token_rotates_once_and_its_replay_revokes_the_session<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let (acme, s) = logged_in(store, Duration::minutes(30)).await;
    let later = s.last_seen_at + Duration::minutes(1);
    let idle = later + Duration::minutes(30);
    match store
        .rotate_refresh("refresh-1".into(), "refresh-2".into(), later)
        .await
    {
        Ok(RefreshOutcome::Rotated(rotated, user)) => {
            assert_eq!(rotated.id, s.id);
            assert_eq!(
                user.map(|u| u.id),
                Some(s.user_id),
                "the session's user, read with the rotation"
            );
            assert_eq!(
                rotated.idle_expires_at, idle,
                "the idle window (30 min at login) moves on"
            );
            assert_eq!(rotated.last_seen_at, later);
        }
        other => panic!("expected a rotation, got {other:?}"),
    }
    // An attacker (or a confused client) presents the spent token: the session dies.
    match store
        .rotate_refresh("refresh-1".into(), "refresh-x".into(), later)
        .await
    {
        Ok(RefreshOutcome::Reused(revoked)) => {
            assert_eq!(revoked.revoked_reason.as_deref(), Some("refresh_reuse"));
        }
        other => panic!("expected reuse detection, got {other:?}"),
    }
    let stored = SessionRepository::get(store, acme.id, s.id)
        .await
        .expect("get")
        .expect("some");
    assert!(!stored.is_live(later));
    // …and the legitimate holder's newer token no longer works either.
    let outcome = store
        .rotate_refresh("refresh-2".into(), "refresh-3".into(), later)
        .await;
    assert_eq!(outcome.ok(), Some(RefreshOutcome::Invalid));
}

pub(crate) async fn unknown_tokens_and_ended_sessions_do_not_refresh<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let (acme, s) = logged_in(store, Duration::seconds(1)).await;
    let t = now() + Duration::minutes(5);
    let outcome = store.rotate_refresh("nope".into(), "x".into(), t).await;
    assert_eq!(outcome.ok(), Some(RefreshOutcome::Invalid));
    let outcome = store
        .rotate_refresh("refresh-1".into(), "refresh-2".into(), t)
        .await;
    assert_eq!(
        outcome.ok(),
        Some(RefreshOutcome::Invalid),
        "idle lifetime passed"
    );
    assert!(store
        .revoke(acme.id, s.id, "logout".into(), t, &audit(acme.id))
        .await
        .expect("revoke"));
    assert!(!store
        .revoke(acme.id, s.id, "admin".into(), t, &audit(acme.id))
        .await
        .expect("again"));
    let stored = SessionRepository::get(store, acme.id, s.id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(
        stored.revoked_reason.as_deref(),
        Some("logout"),
        "the first reason stays"
    );
}

/// The idle window is kept to the microsecond (Postgres rotates in one statement, SQLite in a
/// transaction: both must answer what they stored), and never passes the absolute expiry; a
/// token of a revoked session is spent without a successor.
pub(crate) async fn a_rotation_moves_the_idle_expiry_by_the_exact_window_up_to_the_absolute_one<S>(
    store: &S,
) where
    S: TenantRepository + UserRepository + SessionRepository,
{
    // Almost the whole absolute lifetime (12 h), so a second rotation reaches past it.
    let window = Duration::hours(11) + Duration::minutes(55) + Duration::microseconds(123_457);
    let (acme, s) = logged_in(store, window).await;
    let later = s.last_seen_at + Duration::seconds(7) + Duration::microseconds(1);
    let Ok(RefreshOutcome::Rotated(rotated, _)) = store
        .rotate_refresh("refresh-1".into(), "refresh-2".into(), later)
        .await
    else {
        panic!("expected a rotation");
    };
    assert_eq!(rotated.idle_expires_at, later + window);
    let stored = SessionRepository::get(store, acme.id, s.id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(
        (stored.last_seen_at, stored.idle_expires_at),
        (rotated.last_seen_at, rotated.idle_expires_at),
        "what a rotation answers is what it stored"
    );

    // Near the absolute expiry (12 h after login) the window is cut short there.
    let late = s.last_seen_at + Duration::hours(11) + Duration::minutes(50);
    let Ok(RefreshOutcome::Rotated(capped, _)) = store
        .rotate_refresh("refresh-2".into(), "refresh-3".into(), late)
        .await
    else {
        panic!("expected a rotation before the absolute expiry");
    };
    assert_eq!(capped.idle_expires_at, s.absolute_expires_at);

    // A revoked session: its current token is spent, and no successor works.
    assert!(store
        .revoke(acme.id, s.id, "logout".into(), late, &audit(acme.id))
        .await
        .expect("revoke"));
    let outcome = store
        .rotate_refresh("refresh-3".into(), "refresh-4".into(), late)
        .await;
    assert_eq!(outcome.ok(), Some(RefreshOutcome::Invalid));
    // Had a successor been stored, its first presentation would spend it and the second
    // would be taken for reuse; unknown, it is invalid both times.
    for _ in 0..2 {
        let outcome = store
            .rotate_refresh("refresh-4".into(), "refresh-5".into(), late)
            .await;
        assert_eq!(
            outcome.ok(),
            Some(RefreshOutcome::Invalid),
            "no successor was stored"
        );
    }
}

pub(crate) async fn concurrent_presentations_of_one_token_rotate_exactly_once<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository + Clone + 'static,
{
    let (_, _) = logged_in(store, Duration::minutes(30)).await;
    let t = now() + Duration::seconds(1);
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .rotate_refresh("refresh-1".into(), format!("next-{i}"), t)
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        match task.await.expect("join").expect("outcome") {
            RefreshOutcome::Rotated(..) => rotated += 1,
            RefreshOutcome::Reused(_) | RefreshOutcome::Invalid => {}
        }
    }
    assert_eq!(rotated, 1, "one token, one rotation");
}

pub(crate) async fn live_sessions_are_listed_and_revoked_together<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let (acme, first) = logged_in(store, Duration::minutes(30)).await;
    let mut second = session(
        &acme,
        &User {
            id: first.user_id,
            ..user(&acme, "x@example.com")
        },
        Duration::minutes(30),
    );
    second.last_seen_at += Duration::seconds(10);
    SessionRepository::create(store, &second, "refresh-b".into(), &audit(second.tenant_id))
        .await
        .expect("second");
    let mut ended = session(
        &acme,
        &User {
            id: first.user_id,
            ..user(&acme, "x@example.com")
        },
        Duration::minutes(30),
    );
    ended.idle_expires_at = now() - Duration::seconds(1);
    SessionRepository::create(store, &ended, "refresh-c".into(), &audit(ended.tenant_id))
        .await
        .expect("ended");

    let t = now();
    let live: Vec<SessionId> = store
        .list_live(acme.id, first.user_id, t)
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        live,
        [second.id, first.id],
        "live only, most recently used first"
    );
    let globex = tenant(store, "globex").await;
    assert!(store
        .list_live(globex.id, first.user_id, t)
        .await
        .expect("list")
        .is_empty());

    let revoked = store
        .revoke_all(
            acme.id,
            first.user_id,
            Some(first.id),
            "password_change".into(),
            t,
            &audit(acme.id),
        )
        .await
        .expect("revoke all");
    let mut expected = vec![second.id, ended.id];
    expected.sort();
    let mut revoked_sorted = revoked.clone();
    revoked_sorted.sort();
    assert_eq!(
        revoked_sorted, expected,
        "every unrevoked session but the kept one"
    );
    let live: Vec<SessionId> = store
        .list_live(acme.id, first.user_id, t)
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, [first.id]);
    let again = store
        .revoke_all(
            acme.id,
            first.user_id,
            None,
            "logout_all".into(),
            t,
            &audit(acme.id),
        )
        .await
        .expect("all");
    assert_eq!(again, [first.id]);
}

/// Refreshes that arrive together (which a store may rotate in one statement) each rotate
/// their own session, each moved by its own time and idle window; a token presented twice at
/// the same moment rotates once, and the other presentation is reuse, which ends the
/// session, its fresh token with it.
pub(crate) async fn concurrent_refreshes_rotate_each_their_own_session_once<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let (acme, ada) = acme_and_ada(store).await;
    let mut sessions = Vec::new();
    for i in 0..24_i64 {
        let s = session(&acme, &ada, Duration::minutes(10 + i));
        SessionRepository::create(store, &s, format!("token-{i}-0"), &audit(s.tenant_id))
            .await
            .expect("session");
        sessions.push(s);
    }
    let at = |i: usize| sessions[i].last_seen_at + Duration::seconds(i64::try_from(i).unwrap_or(0));
    // Every session's current token, and session 5's a second time.
    let mut presented: Vec<(usize, String, String)> = (0..sessions.len())
        .map(|i| (i, format!("token-{i}-0"), format!("token-{i}-1")))
        .collect();
    presented.push((5, "token-5-0".into(), "token-5-twin".into()));
    let outcomes = futures::future::join_all(
        presented
            .iter()
            .map(|(i, old, new)| store.rotate_refresh(old.clone(), new.clone(), at(*i))),
    )
    .await;

    let mut rotated_twice = Vec::new();
    for ((i, _, new), outcome) in presented.iter().zip(&outcomes) {
        let s = &sessions[*i];
        match outcome {
            Ok(RefreshOutcome::Rotated(rotated, user)) => {
                assert_eq!(rotated.id, s.id, "its own session");
                assert_eq!(user.as_ref().map(|u| u.id), Some(ada.id));
                assert_eq!(rotated.last_seen_at, at(*i));
                assert_eq!(
                    rotated.idle_expires_at,
                    at(*i) + (s.idle_expires_at - s.last_seen_at),
                    "moved by its own idle window"
                );
                if *i == 5 {
                    rotated_twice.push(new.clone());
                }
            }
            Ok(RefreshOutcome::Reused(revoked)) if *i == 5 => {
                assert_eq!(revoked.id, s.id);
                assert_eq!(revoked.revoked_reason.as_deref(), Some("refresh_reuse"));
            }
            other => panic!("session {i}: {other:?}"),
        }
    }
    assert_eq!(
        rotated_twice.len(),
        1,
        "one presentation of session 5's token rotates, the other is reuse"
    );
    let fresh = rotated_twice.remove(0);
    let later = now() + Duration::minutes(1);
    assert_eq!(
        store
            .rotate_refresh(fresh, "token-5-2".into(), later)
            .await
            .ok(),
        Some(RefreshOutcome::Invalid),
        "the session ended with the reuse"
    );
    for (i, s) in sessions.iter().enumerate().filter(|(i, _)| *i != 5) {
        let stored = SessionRepository::get(store, acme.id, s.id)
            .await
            .expect("get")
            .expect("some");
        assert_eq!(stored.last_seen_at, at(i), "session {i}");
        match store
            .rotate_refresh(format!("token-{i}-1"), format!("token-{i}-2"), at(i))
            .await
        {
            Ok(RefreshOutcome::Rotated(again, _)) => assert_eq!(again.id, s.id),
            other => panic!("session {i}'s next token: {other:?}"),
        }
    }
}

/// A rotation hands back its session's user as stored when it ran, not as at login: a disable
/// committed before the refresh is what the caller sees (and then ends the session instead of
/// issuing a token carrying the old status and roles).
pub(crate) async fn a_rotation_returns_its_user_as_stored_now<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let (acme, s) = logged_in(store, Duration::minutes(30)).await;
    let ada = UserRepository::get(store, acme.id, s.user_id)
        .await
        .expect("get")
        .expect("ada");
    let mut disabled = ada.clone();
    disabled.status = UserStatus::Disabled;
    disabled.roles = vec!["viewer".into()];
    disabled.updated_at = now();
    assert_eq!(
        UserRepository::update(store, &disabled, ada.updated_at, false, &audit(acme.id))
            .await
            .expect("update"),
        UpdateOutcome::Updated
    );
    match store
        .rotate_refresh(
            "refresh-1".into(),
            "refresh-2".into(),
            s.last_seen_at + Duration::minutes(1),
        )
        .await
    {
        Ok(RefreshOutcome::Rotated(rotated, Some(user))) => {
            assert_eq!(rotated.id, s.id);
            assert_eq!(user.id, ada.id);
            assert_eq!(user.status, UserStatus::Disabled, "the disable is seen");
            assert_eq!(user.roles, vec!["viewer".to_owned()], "and the roles now");
        }
        other => panic!("expected a rotation with the user, got {other:?}"),
    }
}
