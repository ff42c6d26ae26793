//! The second factor: TOTP enrolment and confirmation, the MFA challenge after a password,
//! recovery codes, turning TOTP off.

use chrono::{DateTime, Utc};
use serde_json::json;
use usvc_core::ports::TotpEnrollment;
use usvc_core::{
    Action, Actor, AuditEntry, ChallengePurpose, CoreError, MfaChallenge, Origin, Passkey,
    Password, Principal, ResourceRef, Tenant, TotpCredential, User, UserId, UserStatus,
};

use super::{AuthService, LoginOutcome, TokenPair};
use crate::audit::actions as audit;
use crate::events::{self, emit};

/// How long an `mfa_token` lives.
pub const MFA_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);
/// Wrong codes one `mfa_token` survives.
pub const MFA_MAX_ATTEMPTS: u32 = 5;
/// Recovery codes handed out at confirmation (and regeneration).
pub const RECOVERY_CODES: usize = 10;

/// Who is acting on their own TOTP: a logged-in caller, or a user holding the `mfa_token` of
/// a login that must enrol first (the tenant requires MFA).
#[derive(Debug, Clone, Copy)]
pub enum MfaSubject<'a> {
    /// A bearer-authenticated caller.
    Caller(&'a Principal),
    /// The `mfa_token` of an enrolment-required login, and where the request came from.
    EnrollmentToken(&'a str, &'a Origin),
}

impl MfaSubject<'_> {
    /// The audit actor (once the user is known) and the request's origin.
    fn audit_actor(&self, user: UserId) -> (Actor, Origin) {
        match self {
            Self::Caller(principal) => (Actor::caller(principal), principal.origin.clone()),
            Self::EnrollmentToken(_, origin) => (Actor::sessionless(user), (*origin).clone()),
        }
    }
}

/// What confirming TOTP hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedTotp {
    /// Ten single-use recovery codes, shown once.
    pub recovery_codes: Vec<String>,
    /// For an enrolment-required login: the token pair that completes it.
    pub tokens: Option<TokenPair>,
}

pub(super) fn invalid_mfa_token() -> CoreError {
    CoreError::Unauthenticated("the MFA token is invalid or has expired; log in again".into())
}

fn invalid_code() -> CoreError {
    CoreError::Unauthenticated("invalid code".into())
}

/// A recovery code as typed (any case, with or without dashes and spaces), canonical.
fn canonical_recovery_code(code: &str) -> Option<String> {
    let code: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == 16
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)))
    .then_some(code)
}

fn secret_context(user: &User) -> Vec<u8> {
    format!("totp:{}", user.id).into_bytes()
}

impl AuthService {
    /// [`RECOVERY_CODES`] new recovery codes (shown once) and the hashes that are stored.
    fn new_recovery_codes(&self) -> Result<(Vec<String>, Vec<String>), CoreError> {
        let codes = self.totp.recovery_codes(RECOVERY_CODES)?;
        let hashes = codes
            .iter()
            .filter_map(|c| canonical_recovery_code(c))
            .map(|c| self.opaque.hash(&c))
            .collect();
        Ok((codes, hashes))
    }

    /// Asks for the second factor after a right password: a challenge answered by the
    /// factors `user` holds (TOTP and recovery codes once enabled, their `passkeys`), or,
    /// holding none (the tenant requires MFA), one that lets them enrol TOTP. Its token is
    /// handed out instead of tokens.
    pub(super) async fn second_factor(
        &self,
        user: &User,
        passkeys: &[Passkey],
        client: Origin,
        now: DateTime<Utc>,
    ) -> Result<LoginOutcome, CoreError> {
        let token = self.opaque.generate()?;
        let passkey = self.begin_passkey_factor(&token.hash, user, passkeys, now)?;
        let mut methods = Vec::new();
        if user.mfa_enabled {
            methods.extend(["totp", "recovery_code"]);
        }
        if passkey.is_some() {
            methods.push("passkey");
        }
        let purpose = if methods.is_empty() {
            methods.push("totp");
            ChallengePurpose::Enroll
        } else {
            ChallengePurpose::Verify
        };
        self.mfa
            .create_challenge(&MfaChallenge {
                hash: token.hash,
                tenant_id: user.tenant_id,
                user_id: user.id,
                purpose,
                created_at: now,
                expires_at: now + MFA_TOKEN_LIFETIME,
                attempts: 0,
                ip: client.ip,
                user_agent: client.user_agent,
            })
            .await?;
        Ok(LoginOutcome::MfaRequired {
            mfa_token: token.token,
            enroll: purpose == ChallengePurpose::Enroll,
            methods,
            passkey,
        })
    }

    /// The live challenge behind an `mfa_token`, with its (active) user and tenant.
    pub(super) async fn open_challenge(
        &self,
        mfa_token: &str,
        purpose: ChallengePurpose,
        now: DateTime<Utc>,
    ) -> Result<(MfaChallenge, User, Tenant), CoreError> {
        let challenge = self
            .mfa
            .take_attempt(self.opaque.hash(mfa_token), now, MFA_MAX_ATTEMPTS)
            .await?
            .filter(|c| c.purpose == purpose)
            .ok_or_else(invalid_mfa_token)?;
        let user = self
            .users
            .get(challenge.tenant_id, challenge.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(invalid_mfa_token)?;
        let tenant = self
            .tenants
            .get(challenge.tenant_id)
            .await?
            .filter(|t| t.status == usvc_core::TenantStatus::Active)
            .ok_or_else(invalid_mfa_token)?;
        Ok((challenge, user, tenant))
    }

    /// The user the subject stands for.
    async fn subject_user(
        &self,
        subject: MfaSubject<'_>,
        now: DateTime<Utc>,
    ) -> Result<(User, Option<(MfaChallenge, Tenant)>), CoreError> {
        match subject {
            MfaSubject::Caller(principal) => Ok((self.profile(principal).await?, None)),
            MfaSubject::EnrollmentToken(token, _) => {
                let (challenge, user, tenant) = self
                    .open_challenge(token, ChallengePurpose::Enroll, now)
                    .await?;
                Ok((user, Some((challenge, tenant))))
            }
        }
    }

    /// Whether `code` is a current TOTP code of `user` not used before (each code works
    /// once); records its use.
    async fn totp_code_ok(
        &self,
        user: &User,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let Some(credential) = self
            .mfa
            .totp(user.tenant_id, user.id)
            .await?
            .filter(|c| c.confirmed_at.is_some())
        else {
            return Ok(false);
        };
        let secret = self
            .secrets
            .open(&credential.sealed_secret, &secret_context(user))?;
        match self.totp.matching_step(&secret, code, now) {
            Some(step) => self.mfa.use_totp_step(user.tenant_id, user.id, step).await,
            None => Ok(false),
        }
    }

    /// Whether `code` is a TOTP code or an unused recovery code of `user`; spends it.
    async fn second_factor_ok(
        &self,
        user: &User,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let code = code.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            return self.totp_code_ok(user, code, now).await;
        }
        match canonical_recovery_code(code) {
            Some(canonical) => {
                let hash = self.opaque.hash(&canonical);
                self.mfa
                    .use_recovery_code(user.tenant_id, user.id, hash, now)
                    .await
            }
            None => Ok(false),
        }
    }

    /// Completes a login with a TOTP code or a recovery code. A wrong code counts against the
    /// token (five tries) and against the account's lockout, like a wrong password.
    pub async fn verify_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        origin: &Origin,
    ) -> Result<TokenPair, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let (challenge, user, tenant) = self
            .open_challenge(mfa_token, ChallengePurpose::Verify, now)
            .await?;
        let name = user.email.normalized();
        let (_turn, now) = self.refuse_if_locked(tenant.id, &name, now).await?;
        if !self.second_factor_ok(&user, code, now).await? {
            // The attempt was taken when the challenge was opened.
            let actor = Actor::sessionless(user.id);
            self.count_failure(&tenant, name, actor, origin, now)
                .await?;
            return Err(invalid_code());
        }
        self.complete_challenge(challenge, (&tenant, &user), origin, "mfa", now)
            .await
    }

    /// Completes the login `challenge` stands for once its second factor is proven: the
    /// challenge is consumed (a replay finds it spent), the account's failures are
    /// forgotten, and the session opens as from where the login began, recorded as `method`.
    pub(super) async fn complete_challenge(
        &self,
        challenge: MfaChallenge,
        (tenant, user): (&Tenant, &User),
        origin: &Origin,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, CoreError> {
        if !self.mfa.consume_challenge(challenge.hash, now).await? {
            return Err(invalid_mfa_token());
        }
        self.throttle
            .reset(tenant.id, user.email.normalized())
            .await?;
        let client = Origin {
            ip: challenge.ip,
            user_agent: challenge.user_agent,
            request_id: origin.request_id.clone(),
        };
        self.finish_login(tenant, user, client, method, now).await
    }

    /// Starts TOTP enrolment: a new secret (sealed at rest), its `otpauth://` URI and QR
    /// code. Enrolling again before confirming replaces the pending secret. With a session
    /// it takes the password too (a wrong one counts toward the lockout): a stolen session
    /// must not pin its thief's authenticator on the account and lock its owner out. An
    /// enrolment-required login has just proven the password.
    pub async fn enroll_totp(
        &self,
        subject: MfaSubject<'_>,
        password: Option<&Password>,
    ) -> Result<TotpEnrollment, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let (user, _) = self.subject_user(subject, now).await?;
        if let MfaSubject::Caller(principal) = subject {
            let Some(password) = password else {
                return Err(CoreError::invalid(
                    "password",
                    "is required: setting up MFA from a session takes your password",
                ));
            };
            self.password_proves(&user, principal, password, now)
                .await?;
        }
        let secret = self.totp.new_secret()?;
        self.mfa
            .begin_totp(&TotpCredential {
                user_id: user.id,
                tenant_id: user.tenant_id,
                sealed_secret: self.secrets.seal(&secret, &secret_context(&user))?,
                confirmed_at: None,
                last_used_step: 0,
                created_at: now,
            })
            .await?;
        self.totp.enrollment(&secret, user.email.as_str())
    }

    /// Turns TOTP on with a current code from the app: returns ten recovery codes (stored
    /// hashed) and, for an enrolment-required login, the token pair completing it.
    pub async fn confirm_totp(
        &self,
        subject: MfaSubject<'_>,
        code: &str,
    ) -> Result<ConfirmedTotp, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let (user, login) = self.subject_user(subject, now).await?;
        let (actor, origin) = subject.audit_actor(user.id);
        let pending = self
            .mfa
            .totp(user.tenant_id, user.id)
            .await?
            .filter(|c| c.confirmed_at.is_none())
            .ok_or_else(|| CoreError::NotFound("pending TOTP enrolment (enroll first)".into()))?;
        let secret = self
            .secrets
            .open(&pending.sealed_secret, &secret_context(&user))?;
        let Some(step) = self.totp.matching_step(&secret, code, now) else {
            return Err(CoreError::invalid(
                "code",
                "is not the current code of your authenticator",
            ));
        };
        let (codes, hashes) = self.new_recovery_codes()?;
        let entry = AuditEntry::system(user.tenant_id, audit::MFA_ENABLED, now)
            .from(actor, &origin)
            .on(ResourceRef::one("user", user.id))
            .details(json!({ "method": "totp" }));
        self.mfa
            .confirm_totp(user.tenant_id, user.id, step, hashes, now, &entry)
            .await?;
        self.profiles.invalidate(&user.id).await?;
        let payload = json!({ "user_id": user.id, "fields": ["mfa_enabled"] });
        emit(
            &self.events,
            user.tenant_id,
            events::USER_UPDATED,
            now,
            Some(user.id),
            payload,
        )
        .await;
        let tokens = match login {
            Some((challenge, tenant)) => Some(
                self.complete_challenge(challenge, (&tenant, &user), &origin, "mfa", now)
                    .await?,
            ),
            None => None,
        };
        Ok(ConfirmedTotp {
            recovery_codes: codes,
            tokens,
        })
    }

    /// Turns TOTP off, proven by a current code or the password. Refused where the tenant
    /// requires MFA.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        code: Option<&str>,
        password: Option<&Password>,
    ) -> Result<(), CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let user = self.profile(principal).await?;
        let tenant = self
            .tenants
            .get(user.tenant_id)
            .await?
            .ok_or_else(|| CoreError::NotFound("tenant".into()))?;
        if tenant.settings.mfa_required {
            let reason = "your tenant requires MFA; it cannot be turned off";
            let entry = AuditEntry::denied(
                principal,
                &Action::from_static("mfa:disable"),
                &ResourceRef::one("user", user.id),
                reason,
                now,
            );
            self.audit.append(entry).await?;
            return Err(CoreError::Forbidden(reason.into()));
        }
        let name = user.email.normalized();
        let (_turn, now) = self.refuse_if_locked(tenant.id, &name, now).await?;
        let proven = match (code, password) {
            (Some(code), _) => self.totp_code_ok(&user, code, now).await?,
            (None, Some(password)) => self
                .check_password(user.tenant_id, &user.email, password)
                .await?
                .is_some(),
            (None, None) => {
                return Err(CoreError::invalid(
                    "code",
                    "give a current code or your password",
                ))
            }
        };
        if !proven {
            let actor = Actor::caller(principal);
            self.count_failure(&tenant, name, actor, &principal.origin, now)
                .await?;
            return Err(CoreError::invalid(
                if code.is_some() { "code" } else { "password" },
                "is not right",
            ));
        }
        let entry = AuditEntry::by(principal, audit::MFA_DISABLED, now)
            .on(ResourceRef::one("user", user.id))
            .details(json!({ "proof": if code.is_some() { "code" } else { "password" } }));
        if !self.mfa.disable(user.tenant_id, user.id, &entry).await? {
            return Err(CoreError::NotFound("TOTP credential".into()));
        }
        self.profiles.invalidate(&user.id).await?;
        let payload = json!({ "user_id": user.id, "fields": ["mfa_enabled"] });
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

    /// Replaces the recovery codes (the old ones stop working), proven by a current code. A
    /// wrong code counts against the account's lockout, like a wrong password: a stolen
    /// session cannot guess its way to fresh recovery codes.
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<Vec<String>, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let user = self.profile(principal).await?;
        if !user.mfa_enabled {
            return Err(CoreError::NotFound("TOTP credential".into()));
        }
        let tenant = self
            .tenants
            .get(user.tenant_id)
            .await?
            .ok_or_else(|| CoreError::NotFound("tenant".into()))?;
        let name = user.email.normalized();
        let (_turn, now) = self.refuse_if_locked(tenant.id, &name, now).await?;
        if !self.totp_code_ok(&user, code, now).await? {
            let actor = Actor::caller(principal);
            self.count_failure(&tenant, name, actor, &principal.origin, now)
                .await?;
            return Err(CoreError::invalid(
                "code",
                "is not the current code of your authenticator",
            ));
        }
        let (codes, hashes) = self.new_recovery_codes()?;
        let entry = AuditEntry::by(principal, audit::RECOVERY_CODES_REGENERATED, now)
            .on(ResourceRef::one("user", user.id));
        self.mfa
            .replace_recovery_codes(user.tenant_id, user.id, hashes, &entry)
            .await?;
        Ok(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_recovery_code;

    #[test]
    fn recovery_codes_are_read_forgivingly() {
        let canonical = Some("ABCD2345EFGH6777".to_owned());
        assert_eq!(canonical_recovery_code("abcd-2345-efgh-6777"), canonical);
        assert_eq!(canonical_recovery_code(" ABCD 2345 EFGH 6777 "), canonical);
        assert_eq!(canonical_recovery_code("ABCD-2345-EFGH-677"), None);
        assert_eq!(
            canonical_recovery_code("ABCD-2345-EFGH-6780"),
            None,
            "0 and 8 are not base32"
        );
    }
}
