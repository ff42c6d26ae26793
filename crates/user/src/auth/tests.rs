use chrono::TimeZone;
use usvc_core::ports::{
    AccessClaims, IdentitySettings, IssuedToken, MockActionTokenRepository, MockAuditLog,
    MockClock, MockEventPublisher, MockLoginThrottle, MockMfaRepository, MockNotifier,
    MockOpaqueTokens, MockPasskeyRepository, MockPasswordHasher, MockSecretBox,
    MockSessionRepository, MockSettings, MockTenantRepository, MockTokenService, MockTotpService,
    MockUserRepository, MockWebAuthn, OpaqueToken, PasswordCheck,
};
use usvc_core::{
    ActionPurpose, ChallengePurpose, MfaChallenge, NewTenant, Tenant, TenantId, TotpCredential,
    UserId,
};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .expect("time")
}

/// `SESSION_TTL` 30 minutes, links to `https://id.example.com`.
fn settings() -> MockSettings {
    let mut settings = MockSettings::new();
    settings.expect_identity().returning(|| IdentitySettings {
        session_idle: Duration::from_secs(1800),
        public_url: "https://id.example.com".into(),
    });
    settings
}

fn acme() -> Tenant {
    NewTenant::parse("acme", "Acme")
        .expect("valid")
        .into_tenant(now())
}

fn ada(tenant: &Tenant) -> User {
    User::new(
        tenant.id,
        Email::parse("ada@example.com").expect("email"),
        vec!["admin".into()],
        now(),
    )
}

/// Mocks with the defaults every test shares; each test adds the expectations it is about.
struct Mocks {
    tenants: MockTenantRepository,
    users: MockUserRepository,
    sessions: MockSessionRepository,
    hasher: MockPasswordHasher,
    tokens: MockTokenService,
    opaque: MockOpaqueTokens,
    throttle: MockLoginThrottle,
    events: MockEventPublisher,
    mfa: MockMfaRepository,
    totp: MockTotpService,
    secrets: MockSecretBox,
    action_tokens: MockActionTokenRepository,
    notifier: MockNotifier,
    audit: MockAuditLog,
    passkeys: MockPasskeyRepository,
    /// `None`: passkeys unavailable (no relying party), as on a service at an IP address.
    webauthn: Option<MockWebAuthn>,
}

/// A throttle that never locks and accepts every count and reset.
fn open_throttle() -> MockLoginThrottle {
    let mut throttle = MockLoginThrottle::new();
    throttle.expect_locked_until().returning(|_, _, _| Ok(None));
    throttle
        .expect_record_failure()
        .returning(|_, _, _, _, _| Ok(1));
    throttle.expect_reset().returning(|_, _| Ok(()));
    throttle
}

impl Mocks {
    fn new() -> Self {
        let mut tokens = MockTokenService::new();
        tokens.expect_issue().returning(|r| {
            Ok(IssuedToken {
                token: format!("jwt-for-{}", r.user),
                claims: claims(r.user, r.tenant, r.session),
                expires_at: now() + chrono::Duration::seconds(900),
            })
        });
        let mut opaque = MockOpaqueTokens::new();
        opaque.expect_generate().returning(|| {
            Ok(OpaqueToken {
                token: "refresh-token".into(),
                hash: "refresh-hash".into(),
            })
        });
        opaque.expect_hash().returning(|t| format!("hash-of-{t}"));
        Self {
            tenants: MockTenantRepository::new(),
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            hasher: MockPasswordHasher::new(),
            tokens,
            opaque,
            throttle: open_throttle(),
            events: MockEventPublisher::new(),
            mfa: MockMfaRepository::new(),
            totp: MockTotpService::new(),
            secrets: MockSecretBox::new(),
            action_tokens: MockActionTokenRepository::new(),
            notifier: MockNotifier::new(),
            audit: MockAuditLog::new(),
            passkeys: MockPasskeyRepository::new(),
            webauthn: None,
        }
    }

    fn with_account(mut self, tenant: &Tenant, user: &User, hash: Option<&str>) -> Self {
        let t = tenant.clone();
        self.tenants
            .expect_get_by_slug()
            .returning(move |_| Ok(Some(t.clone())));
        let t = tenant.clone();
        self.tenants
            .expect_get()
            .returning(move |_| Ok(Some(t.clone())));
        let found = (user.clone(), hash.map(str::to_owned));
        self.users
            .expect_find_for_login()
            .returning(move |_, _| Ok(Some(found.clone())));
        self
    }

    /// Every password verification answers `matches` / `needs_rehash`.
    fn password_check(mut self, matches: bool, needs_rehash: bool) -> Self {
        self.hasher.expect_verify().returning(move |_, _, _| {
            Ok(PasswordCheck {
                matches,
                needs_rehash,
            })
        });
        self
    }

    /// Sessions are stored and logins recorded without complaint.
    fn accepting_logins(mut self) -> Self {
        self.sessions.expect_create().returning(|_, _, _| Ok(()));
        self.users.expect_record_login().returning(|_, _, _| Ok(()));
        self
    }

    /// The user's profile loads from the repository (bearer authentication reads it).
    fn with_profile(mut self, user: &User) -> Self {
        let u = user.clone();
        self.users
            .expect_get()
            .returning(move |_, _| Ok(Some(u.clone())));
        self
    }

    fn service(mut self) -> AuthService {
        // After the tests' own expectations, which mockall tries first.
        self.events.expect_publish().returning(|_| Ok(()));
        self.audit.expect_append().returning(|_| Ok(()));
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let bus: Arc<dyn usvc_core::ports::Invalidation> =
            Arc::new(usvc_cache::LocalInvalidation::new());
        AuthService::new(AuthPorts {
            tenants: Arc::new(self.tenants),
            users: Arc::new(self.users),
            sessions: Arc::new(self.sessions),
            hasher: Arc::new(self.hasher),
            tokens: Arc::new(self.tokens),
            opaque: Arc::new(self.opaque),
            clock: Arc::new(clock),
            throttle: Arc::new(self.throttle),
            verified_tokens: usvc_cache::NamedCache::new(
                usvc_cache::CacheSpec::JWT_TOKENS,
                bus.clone(),
            ),
            live_sessions: usvc_cache::NamedCache::new(
                usvc_cache::CacheSpec::USER_SESSIONS,
                bus.clone(),
            ),
            profiles: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::USER_PROFILES, bus),
            events: Arc::new(self.events),
            mfa: Arc::new(self.mfa),
            totp: Arc::new(self.totp),
            secrets: Arc::new(self.secrets),
            action_tokens: Arc::new(self.action_tokens),
            notifier: Arc::new(self.notifier),
            audit: Arc::new(self.audit),
            settings: Arc::new(settings()),
            passkeys: Arc::new(self.passkeys),
            webauthn: self.webauthn.map(|rp| Arc::new(rp) as Arc<dyn WebAuthn>),
        })
    }
}

fn claims(user: UserId, tenant: TenantId, session: SessionId) -> AccessClaims {
    AccessClaims {
        iss: "i".into(),
        aud: "a".into(),
        sub: user,
        tid: tenant,
        sid: session,
        roles: vec!["admin".into()],
        iat: 0,
        nbf: 0,
        exp: 0,
        jti: "j".into(),
        client_id: None,
        scope: None,
    }
}

fn password() -> Password {
    Password::new("correct horse battery staple")
}

#[tokio::test]
async fn every_failed_lookup_costs_one_dummy_hash_and_says_the_same() {
    let tenant = acme();
    let user = ada(&tenant);
    let cases: Vec<(&str, &str, Mocks)> = vec![
        ("acme", "ada@example.com", {
            let mut m = Mocks::new();
            m.tenants.expect_get_by_slug().returning(|_| Ok(None));
            m
        }),
        ("Not A Slug", "ada@example.com", Mocks::new()),
        ("acme", "not-an-email", Mocks::new()),
        ("acme", "nobody@example.com", {
            let mut m = Mocks::new();
            let t = tenant.clone();
            m.tenants
                .expect_get_by_slug()
                .returning(move |_| Ok(Some(t.clone())));
            m.users.expect_find_for_login().returning(|_, _| Ok(None));
            m
        }),
        (
            "acme",
            "ada@example.com",
            Mocks::new().with_account(&tenant, &user, None),
        ),
    ];
    for (slug, email, mut mocks) in cases {
        mocks
            .hasher
            .expect_verify_dummy()
            .times(1)
            .returning(|_, _| Ok(()));
        mocks.hasher.expect_verify().never();
        mocks.sessions.expect_create().never();
        let err = mocks
            .service()
            .login(slug, email, &password(), Origin::default())
            .await
            .expect_err("must fail");
        assert_eq!(
            err,
            CoreError::Unauthenticated("invalid credentials".into()),
            "{slug} {email}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_is_the_same_answer_and_opens_nothing() {
    let tenant = acme();
    let mut mocks = Mocks::new().with_account(&tenant, &ada(&tenant), Some("$argon2id$x"));
    mocks = mocks.password_check(false, false);
    mocks.sessions.expect_create().never();
    mocks.users.expect_record_login().never();
    let err = mocks
        .service()
        .login(
            "acme",
            "ada@example.com",
            &Password::new("wrong"),
            Origin::default(),
        )
        .await;
    assert_eq!(
        err,
        Err(CoreError::Unauthenticated("invalid credentials".into()))
    );
}

#[tokio::test]
async fn a_good_login_opens_a_session_and_returns_the_pair() {
    let tenant = acme();
    let user = ada(&tenant);
    let mut mocks = Mocks::new().with_account(&tenant, &user, Some("$argon2id$x"));
    mocks = mocks.password_check(true, false);
    mocks.hasher.expect_hash().never();
    let (user_id, tenant_id) = (user.id, tenant.id);
    mocks
        .sessions
        .expect_create()
        .withf(move |s, hash, _| {
            s.user_id == user_id
                && s.tenant_id == tenant_id
                && s.idle_expires_at == now() + chrono::Duration::seconds(1800)
                && s.absolute_expires_at == now() + chrono::Duration::hours(12)
                && s.ip.as_deref() == Some("203.0.113.7")
                && hash == "refresh-hash"
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    mocks
        .users
        .expect_record_login()
        .withf(move |t, u, at| *t == tenant_id && *u == user_id && *at == now())
        .times(1)
        .returning(|_, _, _| Ok(()));
    let client = Origin {
        ip: Some("203.0.113.7".into()),
        user_agent: Some("curl".into()),
        request_id: None,
    };
    let pair = mocks
        .service()
        .login("acme", "ADA@example.com", &password(), client)
        .await
        .expect("login")
        .tokens()
        .expect("no MFA");
    assert_eq!(pair.access_token, format!("jwt-for-{user_id}"));
    assert_eq!(pair.refresh_token, "refresh-token");
    assert_eq!(pair.expires_in, 900);
}

#[tokio::test]
async fn weak_hashes_are_upgraded_on_a_good_login() {
    let tenant = acme();
    let mut mocks = Mocks::new().with_account(&tenant, &ada(&tenant), Some("$argon2id$weak"));
    mocks = mocks.password_check(true, true);
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .returning(|_, _| Ok("$argon2id$strong".into()));
    mocks
        .users
        .expect_set_password_hash()
        .withf(|_, _, hash, _, _| hash == "$argon2id$strong")
        .times(1)
        .returning(|_, _, _, _, _| Ok(()));
    mocks = mocks.accepting_logins();
    assert!(mocks
        .service()
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await
        .is_ok());
}

#[tokio::test]
async fn an_inactive_account_with_the_right_password_is_forbidden() {
    let tenant = acme();
    let mut user = ada(&tenant);
    user.status = UserStatus::Disabled;
    let mut mocks = Mocks::new().with_account(&tenant, &user, Some("$argon2id$x"));
    mocks = mocks.password_check(true, false);
    mocks.sessions.expect_create().never();
    let err = mocks
        .service()
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await;
    assert!(matches!(err, Err(CoreError::Forbidden(_))), "{err:?}");
}

fn live_session(user: &User) -> Session {
    Session {
        id: SessionId::new(),
        tenant_id: user.tenant_id,
        user_id: user.id,
        created_at: now(),
        last_seen_at: now(),
        idle_expires_at: now() + chrono::Duration::minutes(30),
        absolute_expires_at: now() + chrono::Duration::hours(12),
        revoked_at: None,
        revoked_reason: None,
        ip: None,
        user_agent: None,
    }
}

#[tokio::test]
async fn refresh_spends_the_presented_token_and_hands_out_the_next() {
    let tenant = acme();
    let user = ada(&tenant);
    let session = live_session(&user);
    let mut mocks = Mocks::new();
    let (rotated, u) = (session.clone(), user.clone());
    mocks
        .sessions
        .expect_rotate_refresh()
        .withf(|presented, next, at| {
            presented == "hash-of-old-token" && next == "refresh-hash" && *at == now()
        })
        .returning(move |_, _, _| {
            Ok(RefreshOutcome::Rotated(
                rotated.clone(),
                Some(Box::new(u.clone())),
            ))
        });
    mocks.users.expect_get().never();
    let pair = mocks
        .service()
        .refresh("old-token", &Origin::default())
        .await
        .expect("refresh");
    assert_eq!(pair.session_id, session.id);
    assert_eq!(pair.refresh_token, "refresh-token");
}

#[tokio::test]
async fn a_replayed_or_unknown_refresh_token_is_refused() {
    let user = ada(&acme());
    let session = live_session(&user);
    let mut mocks = Mocks::new();
    mocks
        .sessions
        .expect_rotate_refresh()
        .returning(move |_, _, _| Ok(RefreshOutcome::Reused(session.clone())));
    let err = mocks
        .service()
        .refresh("spent", &Origin::default())
        .await
        .expect_err("reuse");
    assert!(err.to_string().contains("revoked"), "{err}");

    let mut mocks = Mocks::new();
    mocks
        .sessions
        .expect_rotate_refresh()
        .returning(|_, _, _| Ok(RefreshOutcome::Invalid));
    let err = mocks.service().refresh("garbage", &Origin::default()).await;
    assert_eq!(
        err,
        Err(CoreError::Unauthenticated("invalid refresh token".into()))
    );
}

/// The session `id` is expected to be revoked once, as `account_inactive`.
fn expect_revoked_as_inactive(mocks: &mut Mocks, id: SessionId) {
    mocks
        .sessions
        .expect_revoke()
        .withf(move |_, s, reason, _, _| *s == id && reason == "account_inactive")
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
}

/// A refresh whose rotation hands back `user` (as stored now; `None`: gone) for a session of
/// `session`: the session is revoked as `account_inactive` and the refresh refused.
async fn assert_refresh_revokes(session: Session, user: Option<User>) {
    let mut mocks = Mocks::new();
    let rotated = session.clone();
    mocks
        .sessions
        .expect_rotate_refresh()
        .returning(move |_, _, _| {
            Ok(RefreshOutcome::Rotated(
                rotated.clone(),
                user.clone().map(Box::new),
            ))
        });
    mocks.users.expect_get().never();
    expect_revoked_as_inactive(&mut mocks, session.id);
    assert!(matches!(
        mocks.service().refresh("t", &Origin::default()).await,
        Err(CoreError::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn refresh_for_a_disabled_account_revokes_the_session() {
    let mut user = ada(&acme());
    user.status = UserStatus::Disabled;
    assert_refresh_revokes(live_session(&user), Some(user)).await;
}

#[tokio::test]
async fn refresh_for_an_erased_account_revokes_the_session() {
    assert_refresh_revokes(live_session(&ada(&acme())), None).await;
}

#[tokio::test]
async fn bearer_tokens_authenticate_only_while_their_session_lives() {
    let user = ada(&acme());
    let session = live_session(&user);
    let (uid, tid, sid) = (user.id, user.tenant_id, session.id);
    let mut mocks = Mocks::new().with_profile(&user);
    mocks
        .tokens
        .expect_verify()
        .returning(move |_| Ok(claims(uid, tid, sid)));
    let live = session.clone();
    mocks
        .sessions
        .expect_get()
        .returning(move |_, _| Ok(Some(live.clone())));
    let principal = mocks
        .service()
        .authenticate("jwt")
        .await
        .expect("principal");
    assert_eq!(
        (principal.user, principal.tenant, principal.session),
        (uid, tid, sid)
    );

    let mut mocks = Mocks::new().with_profile(&user);
    mocks
        .tokens
        .expect_verify()
        .returning(move |_| Ok(claims(uid, tid, sid)));
    let mut revoked = session.clone();
    revoked.revoked_at = Some(now());
    mocks
        .sessions
        .expect_get()
        .returning(move |_, _| Ok(Some(revoked.clone())));
    assert_eq!(
        mocks.service().authenticate("jwt").await,
        Err(CoreError::Unauthenticated("the session has ended".into()))
    );

    let mut mocks = Mocks::new().with_profile(&user);
    mocks
        .tokens
        .expect_verify()
        .returning(|_| Err(CoreError::Unauthenticated("token expired".into())));
    mocks.sessions.expect_get().never();
    assert_eq!(
        mocks.service().authenticate("jwt").await,
        Err(CoreError::Unauthenticated("token expired".into()))
    );
}

#[tokio::test]
async fn logout_revokes_the_callers_session() {
    let user = ada(&acme());
    let principal = Principal {
        user: user.id,
        tenant: user.tenant_id,
        session: SessionId::new(),
        roles: vec![],
        origin: usvc_core::Origin::default(),
    };
    let mut mocks = Mocks::new();
    let sid = principal.session;
    mocks
        .sessions
        .expect_revoke()
        .withf(move |_, s, reason, _, _| *s == sid && reason == "logout")
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    assert!(mocks.service().logout(&principal).await.is_ok());
}

#[tokio::test]
async fn a_repeat_caller_is_verified_and_loaded_once() {
    let user = ada(&acme());
    let session = live_session(&user);
    let (uid, tid, sid) = (user.id, user.tenant_id, session.id);
    let mut mocks = Mocks::new().with_profile(&user);
    mocks.tokens.expect_verify().times(1).returning(move |_| {
        let mut c = claims(uid, tid, sid);
        c.exp = (now() + chrono::Duration::minutes(15)).timestamp();
        Ok(c)
    });
    let live = session.clone();
    mocks
        .sessions
        .expect_get()
        .times(1)
        .returning(move |_, _| Ok(Some(live.clone())));
    let service = mocks.service();
    for _ in 0..5 {
        let principal = service.authenticate("jwt").await.expect("principal");
        assert_eq!(principal.session, sid);
    }
}

#[tokio::test]
async fn a_logout_reaches_the_cached_hot_path_at_once() {
    let user = ada(&acme());
    let session = live_session(&user);
    let (uid, tid, sid) = (user.id, user.tenant_id, session.id);
    let mut mocks = Mocks::new().with_profile(&user);
    mocks.tokens.expect_verify().returning(move |_| {
        let mut c = claims(uid, tid, sid);
        c.exp = (now() + chrono::Duration::minutes(15)).timestamp();
        Ok(c)
    });
    let revoked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = revoked.clone();
    let stored = session.clone();
    mocks.sessions.expect_get().times(2).returning(move |_, _| {
        let mut s = stored.clone();
        if seen.load(std::sync::atomic::Ordering::SeqCst) {
            s.revoked_at = Some(now());
        }
        Ok(Some(s))
    });
    let flag = revoked.clone();
    mocks
        .sessions
        .expect_revoke()
        .returning(move |_, _, _, _, _| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(true)
        });
    let service = mocks.service();
    let principal = service.authenticate("jwt").await.expect("cached now");
    service.logout(&principal).await.expect("logout");
    assert_eq!(
        service.authenticate("jwt").await,
        Err(CoreError::Unauthenticated("the session has ended".into())),
        "the cached session was invalidated, the revoked one re-read"
    );
}

#[tokio::test]
async fn profiles_are_read_once_and_refreshed_by_a_login() {
    let tenant = acme();
    let user = ada(&tenant);
    let principal = Principal {
        user: user.id,
        tenant: tenant.id,
        session: SessionId::new(),
        roles: vec![],
        origin: usvc_core::Origin::default(),
    };
    let mut mocks = Mocks::new().with_account(&tenant, &user, Some("$argon2id$x"));
    let stored = user.clone();
    mocks
        .users
        .expect_get()
        .times(2)
        .returning(move |_, _| Ok(Some(stored.clone())));
    mocks = mocks.password_check(true, false);
    mocks = mocks.accepting_logins();
    let service = mocks.service();
    for _ in 0..3 {
        assert_eq!(
            service.profile(&principal).await.expect("profile").id,
            user.id
        );
    }
    service
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await
        .expect("login");
    assert!(
        service.profile(&principal).await.is_ok(),
        "re-read after the login changed it"
    );

    let stranger = Principal {
        tenant: TenantId::new(),
        ..principal
    };
    assert!(
        matches!(
            service.profile(&stranger).await,
            Err(CoreError::Unauthenticated(_))
        ),
        "a cached profile is never served across tenants"
    );
}

#[test]
fn the_lock_grows_from_one_second_to_fifteen_minutes() {
    let t = now();
    let lock = |n| lockout(n, t).map(|until| (until - t).num_seconds());
    assert_eq!((lock(1), lock(4)), (None, None), "four failures are free");
    assert_eq!((lock(5), lock(6), lock(7)), (Some(1), Some(2), Some(4)));
    assert_eq!(lock(15), Some(900), "capped at 15 minutes");
    assert_eq!(lock(u32::MAX), Some(900));
}

#[tokio::test]
async fn a_locked_account_name_answers_429_without_hashing() {
    let tenant = acme();
    let mut mocks = Mocks::new().with_account(&tenant, &ada(&tenant), Some("$argon2id$x"));
    mocks.throttle = MockLoginThrottle::new();
    mocks
        .throttle
        .expect_locked_until()
        .returning(|_, _, at| Ok(Some(at + chrono::Duration::milliseconds(7_500))));
    mocks.hasher.expect_verify().never();
    mocks.hasher.expect_verify_dummy().never();
    let err = mocks
        .service()
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await;
    assert_eq!(
        err,
        Err(CoreError::RateLimited {
            retry_after_secs: 8
        })
    );
}

#[tokio::test]
async fn failures_are_counted_per_account_name_and_a_success_clears_them() {
    let tenant = acme();
    let mut mocks = Mocks::new().with_account(&tenant, &ada(&tenant), Some("$argon2id$x"));
    mocks.throttle = MockLoginThrottle::new();
    mocks
        .throttle
        .expect_locked_until()
        .returning(|_, _, _| Ok(None));
    mocks
        .throttle
        .expect_record_failure()
        .withf(|_, name, _, _, _| name == "ada@example.com")
        .times(1)
        .returning(|_, _, _, _, _| Ok(5));
    mocks
        .throttle
        .expect_reset()
        .withf(|_, name| name == "ada@example.com")
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.hasher.expect_verify().returning(|_, p, _| {
        Ok(PasswordCheck {
            matches: p.expose() == "correct horse battery staple",
            needs_rehash: false,
        })
    });
    mocks = mocks.accepting_logins();
    let service = mocks.service();
    let wrong = service
        .login(
            "acme",
            "Ada@Example.com",
            &Password::new("nope"),
            Origin::default(),
        )
        .await;
    assert_eq!(
        wrong,
        Err(CoreError::Unauthenticated("invalid credentials".into()))
    );
    assert!(service
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await
        .is_ok());
}

#[tokio::test]
async fn another_users_session_is_not_found_and_untouched() {
    let user = ada(&acme());
    let mut other = live_session(&user);
    other.user_id = UserId::new();
    let principal = Principal {
        user: user.id,
        tenant: user.tenant_id,
        session: SessionId::new(),
        roles: vec![],
        origin: usvc_core::Origin::default(),
    };
    let mut mocks = Mocks::new();
    let theirs = other.clone();
    mocks
        .sessions
        .expect_get()
        .returning(move |_, _| Ok(Some(theirs.clone())));
    mocks.sessions.expect_revoke().never();
    assert_eq!(
        mocks.service().revoke_session(&principal, other.id).await,
        Err(CoreError::NotFound("session".into()))
    );
}

#[tokio::test]
async fn roles_and_status_come_from_the_current_profile_not_the_token() {
    let mut user = ada(&acme());
    user.roles = vec!["viewer".into()];
    let session = live_session(&user);
    let (uid, tid, sid) = (user.id, user.tenant_id, session.id);
    let mut mocks = Mocks::new().with_profile(&user);
    // The token was issued while the user was an admin.
    mocks
        .tokens
        .expect_verify()
        .returning(move |_| Ok(claims(uid, tid, sid)));
    mocks
        .sessions
        .expect_get()
        .returning(move |_, _| Ok(Some(session.clone())));
    let principal = mocks
        .service()
        .authenticate("jwt")
        .await
        .expect("principal");
    assert_eq!(principal.roles, ["viewer"], "the demotion applies at once");

    let mut disabled = ada(&acme());
    disabled.status = UserStatus::Disabled;
    let session = live_session(&disabled);
    let (uid, tid, sid) = (disabled.id, disabled.tenant_id, session.id);
    let mut mocks = Mocks::new().with_profile(&disabled);
    mocks
        .tokens
        .expect_verify()
        .returning(move |_| Ok(claims(uid, tid, sid)));
    mocks
        .sessions
        .expect_get()
        .returning(move |_, _| Ok(Some(session.clone())));
    assert_eq!(
        mocks.service().authenticate("jwt").await,
        Err(CoreError::Unauthenticated(
            "the account is not active".into()
        ))
    );
}

#[tokio::test]
async fn a_login_and_a_replayed_refresh_token_are_announced() {
    let tenant = acme();
    let user = ada(&tenant);
    let mut mocks = Mocks::new()
        .with_account(&tenant, &user, Some("hash"))
        .password_check(true, false)
        .accepting_logins();
    mocks
        .events
        .expect_publish()
        .withf(|e| e.kind == "user.logged_in")
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .service()
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await
        .expect("login");

    let session = live_session(&user);
    let mut mocks = Mocks::new();
    mocks
        .sessions
        .expect_rotate_refresh()
        .returning(move |_, _, _| Ok(RefreshOutcome::Reused(session.clone())));
    mocks
        .events
        .expect_publish()
        .withf(|e| e.kind == "auth.refresh_reuse_detected")
        .times(1)
        .returning(|_| Ok(()));
    assert!(mocks
        .service()
        .refresh("spent", &Origin::default())
        .await
        .is_err());
}

#[tokio::test]
async fn a_password_change_checks_the_current_one_and_revokes_only_the_others() {
    let tenant = acme();
    let user = ada(&tenant);
    let principal = Principal {
        user: user.id,
        tenant: user.tenant_id,
        session: SessionId::new(),
        roles: user.roles.clone(),
        origin: usvc_core::Origin::default(),
    };
    let mut mocks = Mocks::new()
        .with_account(&tenant, &user, Some("old-hash"))
        .with_profile(&user)
        .password_check(true, false);
    mocks
        .hasher
        .expect_hash()
        .returning(|_, _| Ok("new-hash".into()));
    mocks
        .users
        .expect_set_password_hash()
        .withf(|_, _, hash, _, audit| hash == "new-hash" && audit.action == "auth.password_changed")
        .times(1)
        .returning(|_, _, _, _, _| Ok(()));
    let current = principal.session;
    let other = SessionId::new();
    mocks
        .sessions
        .expect_revoke_all()
        .withf(move |_, _, except, reason, _, _| {
            *except == Some(current) && reason == "password_change"
        })
        .times(1)
        .returning(move |_, _, _, _, _, _| Ok(vec![other]));
    mocks
        .events
        .expect_publish()
        .withf(move |e| e.kind == "session.revoked" && e.payload["session_id"] == other.to_string())
        .times(1)
        .returning(|_| Ok(()));
    let new = Password::new("another fine passphrase");
    mocks
        .service()
        .change_password(&principal, &password(), &new)
        .await
        .expect("changed");

    let mut mocks = Mocks::new()
        .with_account(&tenant, &user, Some("old-hash"))
        .with_profile(&user)
        .password_check(false, false);
    mocks.users.expect_set_password_hash().never();
    mocks.sessions.expect_revoke_all().never();
    let wrong = mocks
        .service()
        .change_password(&principal, &password(), &new)
        .await;
    assert!(
        matches!(&wrong, Err(CoreError::Validation(f)) if f[0].field == "current_password"),
        "{wrong:?}"
    );
}

#[tokio::test]
async fn a_user_with_totp_gets_a_challenge_and_no_session_from_the_password() {
    let tenant = acme();
    let mut user = ada(&tenant);
    user.mfa_enabled = true;
    let mut mocks = Mocks::new()
        .with_account(&tenant, &user, Some("hash"))
        .password_check(true, false);
    mocks.sessions.expect_create().never();
    let uid = user.id;
    mocks
        .mfa
        .expect_create_challenge()
        .withf(move |c| {
            c.user_id == uid
                && c.purpose == ChallengePurpose::Verify
                && c.hash == "refresh-hash"
                && c.expires_at == now() + chrono::Duration::minutes(5)
        })
        .times(1)
        .returning(|_| Ok(()));
    let outcome = mocks
        .service()
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await
        .expect("login");
    assert_eq!(
        outcome,
        LoginOutcome::MfaRequired {
            mfa_token: "refresh-token".into(),
            enroll: false,
            methods: vec!["totp", "recovery_code"],
            passkey: None,
        }
    );

    let plain = ada(&tenant);
    let mut strict = acme();
    strict.settings.mfa_required = true;
    let mut mocks = Mocks::new()
        .with_account(&strict, &plain, Some("hash"))
        .password_check(true, false);
    mocks.sessions.expect_create().never();
    mocks
        .mfa
        .expect_create_challenge()
        .withf(|c| c.purpose == ChallengePurpose::Enroll)
        .times(1)
        .returning(|_| Ok(()));
    let outcome = mocks
        .service()
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await
        .expect("login");
    assert!(matches!(
        outcome,
        LoginOutcome::MfaRequired { enroll: true, .. }
    ));
}

/// `user` holds one passkey, which the relying party can begin a second factor with.
fn with_passkey(mut mocks: Mocks, user: &User) -> Mocks {
    let (tid, uid) = (user.tenant_id, user.id);
    mocks.passkeys.expect_list().returning(move |_, _| {
        Ok(vec![usvc_core::Passkey {
            id: usvc_core::PasskeyId::new(),
            tenant_id: tid,
            user_id: uid,
            name: "Phone".into(),
            credential_id: "cred".into(),
            credential: serde_json::json!({"cred": 1}),
            created_at: now(),
            last_used_at: None,
        }])
    });
    let mut rp = MockWebAuthn::new();
    rp.expect_start_second_factor()
        .withf(|credentials| credentials == [serde_json::json!({"cred": 1})])
        .times(1)
        .returning(|_| {
            Ok(usvc_core::ports::Ceremony {
                options: serde_json::json!({"publicKey": {"challenge": "c"}}),
                state: serde_json::json!("expectations"),
            })
        });
    mocks.webauthn = Some(rp);
    mocks
        .secrets
        .expect_seal()
        .withf(|_, context| context == b"passkey-second-factor")
        .returning(|_, _| Ok(b"sealed".to_vec()));
    mocks.sessions.expect_create().never();
    mocks
        .mfa
        .expect_create_challenge()
        .withf(|c| c.purpose == ChallengePurpose::Verify)
        .times(1)
        .returning(|_| Ok(()));
    mocks
}

/// The passkey ceremony of a login that asked for the second factor, and the methods named.
fn passkey_asked(outcome: LoginOutcome) -> (Vec<&'static str>, Option<serde_json::Value>) {
    let LoginOutcome::MfaRequired {
        enroll,
        methods,
        passkey,
        ..
    } = outcome
    else {
        panic!("a second factor is asked: {outcome:?}");
    };
    assert!(
        !enroll,
        "no TOTP enrolment: the passkey is the second factor"
    );
    (methods, passkey.map(|p| p.options))
}

#[tokio::test]
async fn a_passkey_stands_in_for_totp_where_the_tenant_requires_mfa() {
    let mut strict = acme();
    strict.settings.mfa_required = true;
    let user = ada(&strict);
    let mocks = Mocks::new()
        .with_account(&strict, &user, Some("hash"))
        .password_check(true, false);
    let outcome = with_passkey(mocks, &user)
        .service()
        .login("acme", "ada@example.com", &password(), Origin::default())
        .await
        .expect("login");
    assert_eq!(
        passkey_asked(outcome),
        (
            vec!["passkey"],
            Some(serde_json::json!({"publicKey": {"challenge": "c"}}))
        )
    );
}

#[tokio::test]
async fn an_application_asking_for_mfa_gets_the_passkey_asked() {
    // The tenant does not require MFA and the user has no TOTP: only the application asks.
    let tenant = acme();
    let user = ada(&tenant);
    let mocks = Mocks::new()
        .with_account(&tenant, &user, Some("hash"))
        .password_check(true, false);
    let outcome = with_passkey(mocks, &user)
        .service()
        .login_asking_mfa("acme", "ada@example.com", &password(), Origin::default())
        .await
        .expect("login");
    assert_eq!(passkey_asked(outcome).0, ["passkey"]);
}

#[tokio::test]
async fn a_wrong_second_factor_counts_against_token_and_account_and_opens_nothing() {
    let tenant = acme();
    let mut user = ada(&tenant);
    user.mfa_enabled = true;
    let mut mocks = Mocks::new().with_profile(&user);
    let t = tenant.clone();
    mocks
        .tenants
        .expect_get()
        .returning(move |_| Ok(Some(t.clone())));
    let (tid, uid) = (user.tenant_id, user.id);
    mocks
        .mfa
        .expect_take_attempt()
        .returning(move |hash, _, max| {
            assert_eq!(max, 5);
            Ok(Some(MfaChallenge {
                hash,
                tenant_id: tid,
                user_id: uid,
                purpose: ChallengePurpose::Verify,
                created_at: now(),
                expires_at: now() + chrono::Duration::minutes(5),
                attempts: 0,
                ip: None,
                user_agent: None,
            }))
        });
    let credential = TotpCredential {
        user_id: uid,
        tenant_id: tid,
        sealed_secret: b"sealed".to_vec(),
        confirmed_at: Some(now()),
        last_used_step: 0,
        created_at: now(),
    };
    mocks
        .mfa
        .expect_totp()
        .returning(move |_, _| Ok(Some(credential.clone())));
    mocks
        .secrets
        .expect_open()
        .returning(|_, _| Ok(b"secret".to_vec()));
    mocks.totp.expect_matching_step().returning(|_, _, _| None);
    mocks.mfa.expect_consume_challenge().never();
    mocks.sessions.expect_create().never();
    mocks.throttle = MockLoginThrottle::new();
    mocks
        .throttle
        .expect_locked_until()
        .returning(|_, _, _| Ok(None));
    mocks
        .throttle
        .expect_record_failure()
        .times(1)
        .returning(|_, _, _, _, _| Ok(1));
    let outcome = mocks
        .service()
        .verify_mfa("mfa-token", "123456", &Origin::default())
        .await;
    assert_eq!(
        outcome,
        Err(CoreError::Unauthenticated("invalid code".into()))
    );
}

#[tokio::test]
async fn a_reset_link_is_mailed_only_to_a_real_account_and_stored_hashed() {
    let tenant = acme();
    let user = ada(&tenant);
    let mut mocks = Mocks::new().with_account(&tenant, &user, Some("hash"));
    mocks
        .action_tokens
        .expect_issue()
        .withf(|t| {
            t.hash == "refresh-hash"
                && t.purpose == ActionPurpose::PasswordReset
                && t.expires_at == now() + chrono::Duration::minutes(30)
        })
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .notifier
        .expect_send()
        .withf(|m| {
            m.to == "ada@example.com"
                && m.text
                    .contains("https://id.example.com/reset-password?token=refresh-token")
        })
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .service()
        .forgot_password("acme", "ada@example.com")
        .await
        .expect("accepted");

    let mut mocks = Mocks::new();
    let t = tenant.clone();
    mocks
        .tenants
        .expect_get_by_slug()
        .returning(move |_| Ok(Some(t.clone())));
    mocks
        .users
        .expect_find_for_login()
        .returning(|_, _| Ok(None));
    mocks.action_tokens.expect_issue().never();
    mocks.notifier.expect_send().never();
    assert_eq!(
        mocks
            .service()
            .forgot_password("acme", "nobody@example.com")
            .await,
        Ok(()),
        "the same answer, and nothing sent"
    );
}

#[tokio::test]
async fn forgot_password_refuses_only_what_is_not_an_address_or_a_slug() {
    let mut mocks = Mocks::new();
    mocks.tenants.expect_get_by_slug().never();
    mocks.notifier.expect_send().never();
    let service = mocks.service();
    for (tenant, email, field) in [
        ("acme", "not an address", "email"),
        ("Not A Slug", "ada@example.com", "tenant"),
    ] {
        match service.forgot_password(tenant, email).await {
            Err(CoreError::Validation(errors)) => {
                assert_eq!(errors[0].field, field, "{errors:?}");
            }
            other => panic!("{tenant} {email}: {other:?}"),
        }
    }
}
