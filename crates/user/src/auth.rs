//! Logging in, refreshing, logging out, and turning a bearer token into a principal.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::actions as audit;
use crate::events::{self, emit};
use chrono::{DateTime, Utc};
use serde_json::json;
use usvc_core::ports::{
    AccessClaims, ActionTokenRepository, AuditLog, Cache, Clock, EventPublisher, HashLane,
    LoginThrottle, MfaRepository, Notifier, OpaqueTokens, PasskeyRepository, PasswordHasher,
    SecretBox, SessionRepository, Settings, TenantRepository, TokenRequest, TokenService,
    TotpService, UserRepository, WebAuthn,
};
use usvc_core::{
    Action, Actor, AuditEntry, CoreError, Email, Origin, Outcome, Password, Principal,
    RefreshOutcome, ResourceRef, Session, SessionId, Slug, Tenant, TenantStatus, User, UserId,
    UserStatus,
};

/// What a successful login or refresh hands the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The signed access token (JWT).
    pub access_token: String,
    /// The opaque refresh token, usable once.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The session both belong to.
    pub session_id: SessionId,
}

/// What a correct password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in.
    Tokens(TokenPair),
    /// A second factor is needed: present a code or a passkey's answer with this token at
    /// `/auth/mfa/verify`, or, when `enroll` is set (the tenant requires MFA and the user has
    /// no second factor), enrol TOTP with it first.
    MfaRequired {
        /// The opaque `mfa_token` (five minutes, five wrong answers).
        mfa_token: String,
        /// Whether TOTP must be enrolled before tokens are issued.
        enroll: bool,
        /// The second factors the user holds, by name: `totp`, `recovery_code`, `passkey`.
        methods: Vec<&'static str>,
        /// With a passkey among them: the ceremony for `navigator.credentials.get`, begun
        /// with the user's passkeys, its state sealed to this `mfa_token`.
        passkey: Option<crate::ceremony::BegunCeremony>,
    },
}

impl LoginOutcome {
    /// The token pair, if the login is complete.
    pub fn tokens(self) -> Option<TokenPair> {
        match self {
            Self::Tokens(pair) => Some(pair),
            Self::MfaRequired { .. } => None,
        }
    }
}

/// Failures in a row that are free; from the next one on, each locks the account name.
pub const FREE_FAILURES: u32 = 4;
/// The longest lock.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);

/// The lock after `failures` consecutive failures: none for the first [`FREE_FAILURES`], then
/// 1 s, doubling with every further failure, capped at [`MAX_LOCK`].
pub fn lockout(failures: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let beyond = failures.checked_sub(FREE_FAILURES + 1)?;
    let seconds = 1u64
        .checked_shl(beyond.min(20))
        .unwrap_or(u64::MAX)
        .min(MAX_LOCK.as_secs());
    Some(now + chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX)))
}

/// The one answer to every failed login, whatever failed: no hint whether the tenant, the
/// email or the password was wrong.
fn invalid_credentials() -> CoreError {
    CoreError::Unauthenticated("invalid credentials".into())
}

/// The authentication use cases.
pub struct AuthService {
    tenants: Arc<dyn TenantRepository>,
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    opaque: Arc<dyn OpaqueTokens>,
    clock: Arc<dyn Clock>,
    throttle: Arc<dyn LoginThrottle>,
    verified_tokens: Arc<dyn Cache<String, AccessClaims>>,
    live_sessions: Arc<dyn Cache<SessionId, Session>>,
    profiles: Arc<dyn Cache<UserId, User>>,
    events: Arc<dyn EventPublisher>,
    mfa: Arc<dyn MfaRepository>,
    totp: Arc<dyn TotpService>,
    secrets: Arc<dyn SecretBox>,
    action_tokens: Arc<dyn ActionTokenRepository>,
    notifier: Arc<dyn Notifier>,
    audit: Arc<dyn AuditLog>,
    settings: Arc<dyn Settings>,
    passkeys: Arc<dyn PasskeyRepository>,
    webauthn: Option<Arc<dyn WebAuthn>>,
    attempts: attempts::Attempts,
}

/// The ports [`AuthService`] needs.
pub struct AuthPorts {
    /// Tenants (login names one by slug).
    pub tenants: Arc<dyn TenantRepository>,
    /// Users and credentials.
    pub users: Arc<dyn UserRepository>,
    /// Sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Access tokens.
    pub tokens: Arc<dyn TokenService>,
    /// Refresh tokens.
    pub opaque: Arc<dyn OpaqueTokens>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Consecutive failures per account name (the lockout).
    pub throttle: Arc<dyn LoginThrottle>,
    /// `jwt-tokens`: verified claims by SHA-256 of the token, kept no longer than its `exp`.
    pub verified_tokens: Arc<dyn Cache<String, AccessClaims>>,
    /// `user-sessions`: sessions by id; every revocation invalidates its entry everywhere.
    pub live_sessions: Arc<dyn Cache<SessionId, Session>>,
    /// `user-profiles`: users by id; every change to a user invalidates its entry everywhere.
    pub profiles: Arc<dyn Cache<UserId, User>>,
    /// Where `user.logged_in`, `session.revoked`, … go.
    pub events: Arc<dyn EventPublisher>,
    /// TOTP credentials, recovery codes, MFA challenges.
    pub mfa: Arc<dyn MfaRepository>,
    /// TOTP codes and enrolment material.
    pub totp: Arc<dyn TotpService>,
    /// Seals TOTP secrets at rest.
    pub secrets: Arc<dyn SecretBox>,
    /// Mailed single-use tokens (password reset, email verification).
    pub action_tokens: Arc<dyn ActionTokenRepository>,
    /// Sends that mail.
    pub notifier: Arc<dyn Notifier>,
    /// The audit trail, for attempts that change nothing else (refused reuse, lockouts).
    pub audit: Arc<dyn AuditLog>,
    /// Service-wide settings (the idle lifetime of sessions, the public URL of links in mail),
    /// read when used.
    pub settings: Arc<dyn Settings>,
    /// Passkeys, which answer the second factor too.
    pub passkeys: Arc<dyn PasskeyRepository>,
    /// The WebAuthn relying party; `None` where passkeys are unavailable (`PUBLIC_URL` names
    /// an IP address).
    pub webauthn: Option<Arc<dyn WebAuthn>>,
}

fn after(now: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>, CoreError> {
    chrono::Duration::from_std(d)
        .map(|d| now + d)
        .map_err(|e| CoreError::Internal(format!("session lifetime: {e}")))
}

/// A new session of `user` opened at `now` with the tenant's lifetimes (its idle lifetime,
/// or the service's `SESSION_TTL`, never past its absolute one).
pub(crate) fn new_session(
    tenant: &Tenant,
    user: &User,
    client: &Origin,
    now: DateTime<Utc>,
    settings: &dyn Settings,
) -> Result<Session, CoreError> {
    let now = chrono::SubsecRound::trunc_subsecs(now, 6);
    let idle = tenant
        .settings
        .session_idle_secs
        .map_or_else(|| settings.identity().session_idle, Duration::from_secs);
    let absolute = Duration::from_secs(tenant.settings.session_absolute_secs);
    Ok(Session {
        id: SessionId::new(),
        tenant_id: user.tenant_id,
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: after(now, idle.min(absolute))?,
        absolute_expires_at: after(now, absolute)?,
        revoked_at: None,
        revoked_reason: None,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    })
}

/// How refresh tokens issued to OAuth clients begin (`ort.<client_id>.<random>`): the
/// account's own refresh endpoint refuses them, the token endpoint takes nothing else, and
/// the client a token belongs to is known before it is spent.
pub const CLIENT_REFRESH_PREFIX: &str = "ort.";

impl AuthService {
    /// A service over `ports`.
    pub fn new(ports: AuthPorts) -> Self {
        Self {
            tenants: ports.tenants,
            users: ports.users,
            sessions: ports.sessions,
            hasher: ports.hasher,
            tokens: ports.tokens,
            opaque: ports.opaque,
            clock: ports.clock,
            throttle: ports.throttle,
            verified_tokens: ports.verified_tokens,
            live_sessions: ports.live_sessions,
            profiles: ports.profiles,
            events: ports.events,
            mfa: ports.mfa,
            totp: ports.totp,
            secrets: ports.secrets,
            action_tokens: ports.action_tokens,
            notifier: ports.notifier,
            audit: ports.audit,
            settings: ports.settings,
            passkeys: ports.passkeys,
            webauthn: ports.webauthn,
            attempts: attempts::Attempts::default(),
        }
    }

    /// Checks a password login. Every path through it that can reach a password check hashes
    /// once, so a wrong tenant, an unknown email and a wrong password cost the same time and get
    /// the same answer. After [`FREE_FAILURES`] failures in a row an account name is locked for
    /// a growing delay (429 with `Retry-After`), whether or not the account exists. A user with
    /// TOTP (or in a tenant that requires MFA) gets an MFA challenge instead of tokens.
    pub async fn login(
        &self,
        tenant: &str,
        email: &str,
        password: &Password,
        client: Origin,
    ) -> Result<LoginOutcome, CoreError> {
        self.login_with(tenant, email, password, client, false)
            .await
    }

    /// [`Self::login`] for an application that asked for a second factor (OpenID `acr_values`):
    /// a user holding only a passkey is asked for it too, not just users with TOTP on.
    pub async fn login_asking_mfa(
        &self,
        tenant: &str,
        email: &str,
        password: &Password,
        client: Origin,
    ) -> Result<LoginOutcome, CoreError> {
        self.login_with(tenant, email, password, client, true).await
    }

    #[tracing::instrument(name = "auth.login", skip_all, fields(tenant = %tenant))]
    async fn login_with(
        &self,
        tenant: &str,
        email: &str,
        password: &Password,
        client: Origin,
        mfa_asked: bool,
    ) -> Result<LoginOutcome, CoreError> {
        // Microseconds: what both stores keep, so a stored time reads back equal.
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let (Ok(slug), Ok(email)) = (Slug::parse(tenant), Email::parse(email)) else {
            self.hasher
                .verify_dummy(HashLane::Unknown, password)
                .await?;
            return Err(invalid_credentials());
        };
        let tenant = match self.tenants.get_by_slug(&slug).await? {
            Some(t) if t.status == TenantStatus::Active => t,
            _ => {
                self.hasher
                    .verify_dummy(HashLane::Unknown, password)
                    .await?;
                return Err(invalid_credentials());
            }
        };
        let name = email.normalized();
        let (_turn, now) = self.refuse_if_locked(tenant.id, &name, now).await?;
        let Some((user, check)) = self.check_password(tenant.id, &email, password).await? else {
            self.count_failure(&tenant, name, Actor::Anonymous, &client, now)
                .await?;
            return Err(invalid_credentials());
        };
        // The failures are forgotten only when a login completes: a right password followed
        // by wrong second factors keeps counting (else each new login would buy five more
        // guesses at a six-digit code).
        if user.status != UserStatus::Active {
            let actor = Actor::sessionless(user.id);
            let refused = AuditEntry::system(tenant.id, audit::LOGIN_FAILED, now)
                .from(actor, &client)
                .on(ResourceRef::one("user", user.id))
                .outcome(Outcome::Failure)
                .details(json!({ "reason": "account_not_active", "status": user.status }));
            self.audit.append(refused).await?;
            return Err(CoreError::Forbidden("this account is not active".into()));
        }
        if check.needs_rehash {
            self.upgrade_hash(&user, password, &client, now).await;
        }
        if user.mfa_enabled || tenant.settings.mfa_required || mfa_asked {
            // Read once: whether the application's ask applies, and the ceremony to begin.
            let passkeys = self.factor_passkeys(&user).await?;
            if user.mfa_enabled || tenant.settings.mfa_required || !passkeys.is_empty() {
                return self.second_factor(&user, &passkeys, client, now).await;
            }
        }
        self.throttle.reset(tenant.id, name).await?;
        let pair = self
            .finish_login(&tenant, &user, client, "password", now)
            .await?;
        Ok(LoginOutcome::Tokens(pair))
    }

    /// The turn of one guess at the account name's password or code ([`attempts`]: one at
    /// a time per name, so each sees the failures before it), and the time once it came:
    /// 429 with `Retry-After` while the name is locked (or too many guesses wait for it).
    /// Hold the turn until the failure, if any, is counted — at the time returned, so a
    /// lock is measured from when the guess was checked, not from when it arrived.
    async fn refuse_if_locked(
        &self,
        tenant: usvc_core::TenantId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(attempts::Turn, DateTime<Utc>), CoreError> {
        let turn = self
            .attempts
            .turn(tenant, name)
            .await
            .map_err(|attempts::Busy| CoreError::RateLimited {
                retry_after_secs: 1,
            })?;
        let now = now.max(chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6));
        if let Some(until) = self
            .throttle
            .locked_until(tenant, name.to_owned(), now)
            .await?
        {
            let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
            return Err(CoreError::RateLimited {
                retry_after_secs: millis.div_ceil(1000).max(1),
            });
        }
        Ok((turn, now))
    }

    /// Counts a failed password or code against the account name (and audits it); past the
    /// free failures the name is locked, and that is audited and announced as
    /// `auth.locked_out`.
    async fn count_failure(
        &self,
        tenant: &Tenant,
        name: String,
        actor: Actor,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        let failed = AuditEntry::system(tenant.id, audit::LOGIN_FAILED, now)
            .from(actor, origin)
            .outcome(Outcome::Failure)
            .details(json!({ "email": name }));
        let failures = self
            .throttle
            .record_failure(tenant.id, name, now, lockout, &failed)
            .await?;
        if failures > FREE_FAILURES {
            tracing::warn!(tenant = %tenant.id, failures, "login locked after repeated failures");
            let payload = json!({ "failures": failures, "locked_until": lockout(failures, now) });
            let mut locked = failed.details(payload.clone());
            audit::LOCKED_OUT.clone_into(&mut locked.action);
            self.audit.append(locked).await?;
            emit(
                &self.events,
                tenant.id,
                events::LOCKED_OUT,
                now,
                None,
                payload,
            )
            .await;
        }
        Ok(())
    }

    /// Opens the session of a completed login (password, and the second factor if any).
    async fn finish_login(
        &self,
        tenant: &Tenant,
        user: &User,
        client: Origin,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, CoreError> {
        let pair = self
            .open_session(tenant, user, &client, method, now)
            .await?;
        self.users
            .record_login(user.tenant_id, user.id, now)
            .await?;
        // `last_login_at` changed: every replica re-reads the profile.
        self.profiles.invalidate(&user.id).await?;
        let payload =
            json!({ "user_id": user.id, "session_id": pair.session_id, "method": method });
        emit(
            &self.events,
            user.tenant_id,
            events::USER_LOGGED_IN,
            now,
            Some(user.id),
            payload,
        )
        .await;
        Ok(pair)
    }

    /// The account and its password check, if the password is right; `None` (after exactly one
    /// hash, real or dummy) otherwise.
    async fn check_password(
        &self,
        tenant: usvc_core::TenantId,
        email: &Email,
        password: &Password,
    ) -> Result<Option<(User, usvc_core::ports::PasswordCheck)>, CoreError> {
        if let Some((user, Some(hash))) = self.users.find_for_login(tenant, email).await? {
            let check = self
                .hasher
                .verify(HashLane::Tenant(tenant), password, &hash)
                .await?;
            Ok(check.matches.then_some((user, check)))
        } else {
            self.hasher
                .verify_dummy(HashLane::Tenant(tenant), password)
                .await?;
            Ok(None)
        }
    }

    /// Re-hashes a proven password at the current parameters; a failure only costs the
    /// upgrade, never the login.
    async fn upgrade_hash(
        &self,
        user: &User,
        password: &Password,
        origin: &Origin,
        now: DateTime<Utc>,
    ) {
        let actor = Actor::sessionless(user.id);
        let entry = AuditEntry::system(user.tenant_id, audit::PASSWORD_REHASHED, now)
            .from(actor, origin)
            .on(ResourceRef::one("user", user.id));
        let upgraded = match self
            .hasher
            .hash(HashLane::Tenant(user.tenant_id), password)
            .await
        {
            Ok(hash) => {
                self.users
                    .set_password_hash(user.tenant_id, user.id, hash, now, &entry)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = upgraded {
            tracing::warn!(error = %e, user = %user.id, "password hash upgrade failed");
        }
    }

    /// Opens a session with the tenant's lifetimes, recording the login (`method`) with it,
    /// and hands out its first token pair.
    async fn open_session(
        &self,
        tenant: &Tenant,
        user: &User,
        client: &Origin,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, CoreError> {
        let session = new_session(tenant, user, client, now, self.settings.as_ref())?;
        let actor = Actor::in_session(user.id, session.id);
        let entry = AuditEntry::system(user.tenant_id, audit::LOGIN, now)
            .from(actor, client)
            .on(ResourceRef::one("user", user.id))
            .details(json!({ "method": method }));
        let refresh = self.opaque.generate()?;
        self.sessions.create(&session, refresh.hash, &entry).await?;
        self.pair(user, session.id, refresh.token, now)
    }

    fn pair(
        &self,
        user: &User,
        session: SessionId,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, CoreError> {
        let issued = self.tokens.issue(&TokenRequest {
            user: user.id,
            tenant: user.tenant_id,
            session,
            roles: user.roles.clone(),
            client_id: None,
            scope: None,
        })?;
        Ok(TokenPair {
            access_token: issued.token,
            refresh_token,
            expires_in: u64::try_from((issued.expires_at - now).num_seconds()).unwrap_or(0),
            session_id: session,
        })
    }

    /// Trades a refresh token for a new pair. The presented token is spent; presenting a spent
    /// one revokes the whole session (RFC 9700 reuse detection).
    #[tracing::instrument(name = "auth.refresh", skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        origin: &Origin,
    ) -> Result<TokenPair, CoreError> {
        if refresh_token.starts_with(CLIENT_REFRESH_PREFIX) {
            // A client's token would come back without its scope: its client refreshes it
            // at the token endpoint, and nobody else refreshes it at all.
            return Err(CoreError::Unauthenticated(
                "an OAuth client's refresh token: the client refreshes it at its token endpoint"
                    .into(),
            ));
        }
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let presented = self.opaque.hash(refresh_token);
        let next = self.opaque.generate()?;
        let outcome = self
            .sessions
            .rotate_refresh(presented, next.hash, now)
            .await?;
        match outcome {
            RefreshOutcome::Rotated(session, user) => {
                // The rotation only moved the session's idle expiry later; no replica's
                // cached copy is invalidated for it: one that looks expired is re-read
                // (`session`), so extending costs no cross-replica message per refresh.
                // The user comes with it, as stored now (not from a cache another replica
                // may have failed to invalidate: a disable must end the session here).
                let user = user.filter(|u| u.status == UserStatus::Active).map(|u| *u);
                let Some(user) = user else {
                    let entry = AuditEntry::system(session.tenant_id, audit::SESSION_REVOKED, now)
                        .on(ResourceRef::one("session", session.id))
                        .details(json!({ "reason": "account_inactive" }));
                    self.sessions
                        .revoke(
                            session.tenant_id,
                            session.id,
                            "account_inactive".into(),
                            now,
                            &entry,
                        )
                        .await?;
                    self.forget_session(session.id).await?;
                    return Err(CoreError::Unauthenticated(
                        "the account is not active".into(),
                    ));
                };
                self.pair(&user, session.id, next.token, now)
            }
            RefreshOutcome::Reused(session) => {
                tracing::warn!(session = %session.id, "refresh token reuse; session revoked");
                self.forget_session(session.id).await?;
                let actor = Actor::in_session(session.user_id, session.id);
                let entry = AuditEntry::system(session.tenant_id, audit::REFRESH_REUSED, now)
                    .from(actor, origin)
                    .on(ResourceRef::one("session", session.id))
                    .outcome(Outcome::Failure);
                self.audit.append(entry).await?;
                let payload = json!({ "user_id": session.user_id, "session_id": session.id });
                emit(
                    &self.events,
                    session.tenant_id,
                    events::REFRESH_REUSE_DETECTED,
                    now,
                    None,
                    payload,
                )
                .await;
                Err(CoreError::Unauthenticated(
                    "refresh token already used; the session has been revoked".into(),
                ))
            }
            RefreshOutcome::Invalid => {
                Err(CoreError::Unauthenticated("invalid refresh token".into()))
            }
        }
    }

    /// Ends the caller's session: its access and refresh tokens stop working, here at once and
    /// on every other replica as soon as the invalidation reaches it.
    #[tracing::instrument(name = "auth.logout", skip_all)]
    pub async fn logout(&self, principal: &Principal) -> Result<(), CoreError> {
        let now = self.clock.now();
        let entry = AuditEntry::by(principal, audit::LOGOUT, now)
            .on(ResourceRef::one("session", principal.session));
        self.sessions
            .revoke(
                principal.tenant,
                principal.session,
                "logout".into(),
                now,
                &entry,
            )
            .await?;
        self.forget_session(principal.session).await?;
        self.revoked(principal, principal.session, "logout", now)
            .await;
        Ok(())
    }

    /// Announces a session that ended before its time.
    async fn revoked(
        &self,
        principal: &Principal,
        session: SessionId,
        reason: &str,
        now: DateTime<Utc>,
    ) {
        let payload = json!({ "user_id": principal.user, "session_id": session, "reason": reason });
        emit(
            &self.events,
            principal.tenant,
            events::SESSION_REVOKED,
            now,
            Some(principal.user),
            payload,
        )
        .await;
    }

    /// The caller's own profile, from the `user-profiles` cache (one load per user).
    pub async fn profile(&self, principal: &Principal) -> Result<User, CoreError> {
        let (users, tenant, id) = (self.users.clone(), principal.tenant, principal.user);
        let user = self
            .profiles
            .get_or_load(
                id,
                Box::pin(async move {
                    users
                        .get(tenant, id)
                        .await?
                        .ok_or_else(|| CoreError::NotFound("user".into()))
                }),
            )
            .await;
        match user {
            // The cache is keyed by id alone; the tenant check keeps the wall intact.
            Ok(user) if user.tenant_id == principal.tenant => Ok(user),
            Ok(_) | Err(CoreError::NotFound(_)) => Err(CoreError::Unauthenticated(
                "the account no longer exists".into(),
            )),
            Err(e) => Err(e),
        }
    }

    /// The caller's live sessions, most recently used first.
    pub async fn sessions(&self, principal: &Principal) -> Result<Vec<Session>, CoreError> {
        self.sessions
            .list_live(principal.tenant, principal.user, self.clock.now())
            .await
    }

    /// Ends one of the caller's own sessions. Another user's session, or one that does not
    /// exist, is `NotFound` alike.
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        id: SessionId,
    ) -> Result<(), CoreError> {
        match self.sessions.get(principal.tenant, id).await? {
            Some(session) if session.user_id == principal.user => {}
            Some(_) => {
                // Another's session: answered as missing, recorded as the refusal it is.
                let entry = AuditEntry::denied(
                    principal,
                    &Action::from_static("sessions:revoke"),
                    &ResourceRef::one("session", id),
                    "the session belongs to another user",
                    self.clock.now(),
                );
                self.audit.append(entry).await?;
                return Err(CoreError::NotFound("session".into()));
            }
            None => return Err(CoreError::NotFound("session".into())),
        }
        let now = self.clock.now();
        let entry = AuditEntry::by(principal, audit::SESSION_REVOKED, now)
            .on(ResourceRef::one("session", id))
            .details(json!({ "reason": "revoked_by_user" }));
        self.sessions
            .revoke(principal.tenant, id, "revoked_by_user".into(), now, &entry)
            .await?;
        self.forget_session(id).await?;
        self.revoked(principal, id, "revoked_by_user", now).await;
        Ok(())
    }

    /// Ends every session of the caller, the current one included.
    pub async fn logout_all(&self, principal: &Principal) -> Result<(), CoreError> {
        let now = self.clock.now();
        let entry = AuditEntry::by(principal, audit::LOGOUT_ALL, now)
            .on(ResourceRef::one("user", principal.user));
        let revoked = self
            .sessions
            .revoke_all(
                principal.tenant,
                principal.user,
                None,
                "logout_all".into(),
                now,
                &entry,
            )
            .await?;
        for id in revoked {
            self.forget_session(id).await?;
            self.revoked(principal, id, "logout_all", now).await;
        }
        Ok(())
    }

    /// Changes the caller's password after checking the current one. Every other session of
    /// the user ends (whoever else held them no longer gets in); the caller's stays. A wrong
    /// current password counts towards the account's lockout like a failed login.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &Password,
        new: &Password,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        let user = self.profile(principal).await?;
        let name = user.email.normalized();
        let (_turn, now) = self.refuse_if_locked(user.tenant_id, &name, now).await?;
        crate::password_policy::check(new, &user.email, "new_password")?;
        if self
            .check_password(user.tenant_id, &user.email, current)
            .await?
            .is_none()
        {
            let tenant = self
                .tenants
                .get(user.tenant_id)
                .await?
                .ok_or_else(|| CoreError::NotFound("tenant".into()))?;
            let actor = Actor::caller(principal);
            self.count_failure(&tenant, name, actor, &principal.origin, now)
                .await?;
            return Err(CoreError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        self.throttle.reset(user.tenant_id, name).await?;
        let hash = self
            .hasher
            .hash(HashLane::Tenant(user.tenant_id), new)
            .await?;
        let entry = AuditEntry::by(principal, audit::PASSWORD_CHANGED, now)
            .on(ResourceRef::one("user", user.id));
        self.users
            .set_password_hash(user.tenant_id, user.id, hash, now, &entry)
            .await?;
        let entry = AuditEntry::by(principal, audit::SESSION_REVOKED, now)
            .on(ResourceRef::one("user", user.id))
            .details(json!({ "reason": "password_change" }));
        let revoked = self
            .sessions
            .revoke_all(
                principal.tenant,
                principal.user,
                Some(principal.session),
                "password_change".into(),
                now,
                &entry,
            )
            .await?;
        for id in revoked {
            self.forget_session(id).await?;
            self.revoked(principal, id, "password_change", now).await;
        }
        let payload = json!({ "user_id": user.id, "fields": ["password"] });
        emit(
            &self.events,
            user.tenant_id,
            events::USER_UPDATED,
            now,
            Some(user.id),
            payload,
        )
        .await;
        Ok(())
    }

    /// Drops a session from the `user-sessions` cache on every replica.
    async fn forget_session(&self, id: SessionId) -> Result<(), CoreError> {
        self.live_sessions.invalidate(&id).await
    }

    /// The claims of a bearer token: from the `jwt-tokens` cache, or verified (signature,
    /// algorithm, `kid`, issuer, audience, `exp`, `nbf`) and then cached until its `exp`.
    fn verified(&self, bearer: &str, now: DateTime<Utc>) -> Result<AccessClaims, CoreError> {
        let key = self.opaque.hash(bearer);
        if let Some(claims) = self.verified_tokens.get(&key) {
            if claims.exp > now.timestamp() {
                return Ok(claims);
            }
        }
        let claims = self.tokens.verify(bearer)?;
        let remaining = u64::try_from(claims.exp - now.timestamp()).unwrap_or(0);
        self.verified_tokens
            .insert_for(key, claims.clone(), Duration::from_secs(remaining));
        Ok(claims)
    }

    /// The session, from the `user-sessions` cache (one load per session, single flight).
    /// A cached session that looks expired is re-read: another replica may have extended it.
    async fn session(
        &self,
        claims: &AccessClaims,
        now: DateTime<Utc>,
    ) -> Result<Session, CoreError> {
        let ended = || CoreError::Unauthenticated("the session has ended".into());
        let (sessions, tenant, id) = (self.sessions.clone(), claims.tid, claims.sid);
        let load = move || -> usvc_core::ports::CacheLoad<'static, Session> {
            let sessions = sessions.clone();
            Box::pin(async move {
                sessions
                    .get(tenant, id)
                    .await?
                    .ok_or_else(|| CoreError::NotFound("session".into()))
            })
        };
        let cached = match self.live_sessions.get_or_load(id, load()).await {
            Ok(session) => session,
            Err(CoreError::NotFound(_)) => return Err(ended()),
            Err(e) => return Err(e),
        };
        if cached.is_live(now) || cached.revoked_at.is_some() {
            return Ok(cached);
        }
        // Kept only if nothing was invalidated meanwhile: a revocation committed while this
        // read was in flight must not be overwritten by the row from before it.
        let generation = self.live_sessions.generation();
        match load().await {
            Ok(fresh) => {
                self.live_sessions
                    .insert_if_unchanged(id, fresh.clone(), generation);
                Ok(fresh)
            }
            Err(CoreError::NotFound(_)) => Err(ended()),
            Err(e) => Err(e),
        }
    }

    /// The principal a bearer token stands for, if its signature, claims and session hold and
    /// the account is active. The hot path: a repeat caller costs a hash and three cache hits
    /// (token, session, profile), no I/O.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, CoreError> {
        let now = self.clock.now();
        let claims = self.verified(bearer, now)?;
        // A token a client got for signing in (`openid profile email`) is for `userinfo`;
        // only the `api` scope lets a client act on this API as its user (docs/oidc.md).
        if claims
            .scope
            .as_deref()
            .is_some_and(|scope| !scope.split(' ').any(|s| s == "api"))
        {
            return Err(CoreError::Unauthenticated(
                "this token was issued to a client without the `api` scope".into(),
            ));
        }
        let session = self.session(&claims, now).await?;
        let owned = session.user_id == claims.sub && session.tenant_id == claims.tid;
        if !owned || !session.is_live(now) {
            return Err(CoreError::Unauthenticated("the session has ended".into()));
        }
        let principal = Principal {
            user: claims.sub,
            tenant: claims.tid,
            session: claims.sid,
            roles: Vec::new(),
            origin: usvc_core::Origin::default(),
        };
        // Roles and status come from the cached profile, not the token: a role change, a
        // disable or a delete takes effect on the next request, not at the token's `exp`.
        let user = self.profile(&principal).await?;
        if user.status != UserStatus::Active {
            return Err(CoreError::Unauthenticated(
                "the account is not active".into(),
            ));
        }
        Ok(Principal {
            roles: user.roles,
            ..principal
        })
    }
}

mod attempts;
pub mod mfa;
mod passkey_factor;
mod passkey_login;
pub mod reauthenticate;
pub mod recovery;

#[cfg(test)]
mod tests;
