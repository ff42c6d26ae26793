//! Mailed single-use links: forgotten passwords and email verification.

use chrono::{DateTime, Utc};
use serde_json::json;
use usvc_core::ports::{HashLane, Message};
use usvc_core::{
    ActionPurpose, ActionToken, Actor, AuditEntry, CoreError, Email, Origin, Password, Principal,
    ResourceRef, Slug, Tenant, TenantStatus, User, UserStatus,
};

use super::AuthService;
use crate::audit::actions as audit;
use crate::events::{self, emit};

/// How long a password-reset link works.
pub const RESET_LIFETIME: chrono::Duration = chrono::Duration::minutes(30);
/// How long an address-verification link works.
pub const VERIFICATION_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

fn invalid_token() -> CoreError {
    CoreError::invalid("token", "is invalid, used or expired; ask for a new link")
}

impl AuthService {
    /// Stores a new token for `user` and mails its link. Returns nothing about the token.
    async fn mail_link(
        &self,
        user: &User,
        purpose: ActionPurpose,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        let token = self.opaque.generate()?;
        let lifetime = match purpose {
            ActionPurpose::PasswordReset => RESET_LIFETIME,
            ActionPurpose::EmailVerification => VERIFICATION_LIFETIME,
        };
        self.action_tokens
            .issue(&ActionToken {
                hash: token.hash,
                tenant_id: user.tenant_id,
                user_id: user.id,
                purpose,
                email: user.email.as_str().to_owned(),
                created_at: now,
                expires_at: now + lifetime,
            })
            .await?;
        let (subject, path, intro, minutes) = match purpose {
            ActionPurpose::PasswordReset => (
                "Reset your password",
                "reset-password",
                "Someone (hopefully you) asked to reset the password of this account.",
                RESET_LIFETIME.num_minutes(),
            ),
            ActionPurpose::EmailVerification => (
                "Confirm your email address",
                "verify-email",
                "Please confirm that this address belongs to you.",
                VERIFICATION_LIFETIME.num_minutes(),
            ),
        };
        let text = format!(
            "{intro}\n\nOpen this link within {minutes} minutes (it works once):\n\n    \
             {base}/{path}?token={t}\n\nOr send the token to the API: POST {base}/api/v1/auth/{api} \
             with {{\"token\": \"{t}\"}}.\n\nIf you did not ask for this, ignore this message.\n",
            base = self.settings.identity().public_url,
            t = token.token,
            api = if purpose == ActionPurpose::PasswordReset {
                "password/reset"
            } else {
                "verify-email"
            },
        );
        self.notifier
            .send(Message {
                to: user.email.as_str().to_owned(),
                subject: subject.to_owned(),
                text,
            })
            .await
    }

    /// Mails a reset link if the tenant and an active account with this email exist. The
    /// answer is the same either way (no account enumeration); mail leaves in the background.
    /// Only a malformed slug or address is refused, which tells nothing about accounts.
    pub async fn forgot_password(&self, tenant: &str, email: &str) -> Result<(), CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        // A malformed slug or address is a 400: it says nothing about which accounts exist.
        let slug = Slug::parse(tenant)
            .map_err(|_| CoreError::invalid("tenant", "is not a tenant slug (a-z, 0-9, '-')"))?;
        let email = Email::parse(email)?;
        let Some(tenant) = self
            .tenants
            .get_by_slug(&slug)
            .await?
            .filter(|t| t.status == TenantStatus::Active)
        else {
            return Ok(());
        };
        let Some((user, _)) = self.users.find_for_login(tenant.id, &email).await? else {
            return Ok(());
        };
        if user.status != UserStatus::Active {
            return Ok(());
        }
        // The caller gets the same answer whatever happens from here (a full mail queue, a
        // store hiccup): anything else would tell that the account exists.
        if let Err(e) = self
            .mail_link(&user, ActionPurpose::PasswordReset, now)
            .await
        {
            tracing::warn!(error = %e, "password reset link not sent");
        }
        Ok(())
    }

    /// Sets a new password with a reset link's token (once, within 30 minutes). Every session
    /// of the account ends and its lockout is cleared: whoever holds the mailbox is back in.
    pub async fn reset_password(
        &self,
        token: &str,
        new: &Password,
        origin: &Origin,
    ) -> Result<(), CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let hash = self.opaque.hash(token);
        let found = self
            .action_tokens
            .find(hash.clone(), ActionPurpose::PasswordReset, now)
            .await?
            .ok_or_else(invalid_token)?;
        let user = self
            .users
            .get(found.tenant_id, found.user_id)
            .await?
            .ok_or_else(invalid_token)?;
        crate::password_policy::check(new, &user.email, "new_password")?;
        let password_hash = self
            .hasher
            .hash(HashLane::Tenant(found.tenant_id), new)
            .await?;
        let entry = AuditEntry::system(user.tenant_id, audit::PASSWORD_RESET, now)
            .from(Actor::sessionless(user.id), origin)
            .on(ResourceRef::one("user", user.id));
        let revoked = self
            .action_tokens
            .redeem_password_reset(hash, password_hash, now, &entry)
            .await?
            .ok_or_else(invalid_token)?;
        self.throttle
            .reset(user.tenant_id, user.email.normalized())
            .await?;
        let principal = Principal {
            user: user.id,
            tenant: user.tenant_id,
            session: usvc_core::SessionId::new(),
            roles: Vec::new(),
            origin: origin.clone(),
        };
        for id in revoked {
            self.forget_session(id).await?;
            self.revoked(&principal, id, "password_reset", now).await;
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

    /// Mails the caller a link that proves their address. `Conflict` if it is proven already.
    pub async fn send_verification(&self, principal: &Principal) -> Result<(), CoreError> {
        let user = self.profile(principal).await?;
        if user.email_verified {
            return Err(CoreError::Conflict(
                "the email address is already verified".into(),
            ));
        }
        self.send_verification_to(&user).await
    }

    /// Mails `user` a verification link (after registration, for instance).
    pub async fn send_verification_to(&self, user: &User) -> Result<(), CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        self.mail_link(user, ActionPurpose::EmailVerification, now)
            .await
    }

    /// What a verification link is for, before it is used: the address and its tenant (the
    /// page names them, so nobody confirms an account they did not make). `None` for a token
    /// that is not (or no longer) valid.
    pub async fn verification_for(
        &self,
        token: &str,
    ) -> Result<Option<(String, Tenant)>, CoreError> {
        let now = self.clock.now();
        let hash = self.opaque.hash(token);
        let Some(found) = self
            .action_tokens
            .find(hash, ActionPurpose::EmailVerification, now)
            .await?
        else {
            return Ok(None);
        };
        let tenant = self.tenants.get(found.tenant_id).await?;
        Ok(tenant.map(|t| (found.email, t)))
    }

    /// Marks an address verified with a verification link's token (once, within 24 hours,
    /// and only if the account still has the address the link was sent to).
    pub async fn verify_email(&self, token: &str, origin: &Origin) -> Result<(), CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let hash = self.opaque.hash(token);
        let found = self
            .action_tokens
            .find(hash.clone(), ActionPurpose::EmailVerification, now)
            .await?
            .ok_or_else(invalid_token)?;
        let entry = AuditEntry::system(found.tenant_id, audit::EMAIL_VERIFIED, now)
            .from(Actor::sessionless(found.user_id), origin)
            .on(ResourceRef::one("user", found.user_id));
        if !self
            .action_tokens
            .redeem_email_verification(hash, now, &entry)
            .await?
        {
            return Err(invalid_token());
        }
        self.profiles.invalidate(&found.user_id).await?;
        let payload = json!({ "user_id": found.user_id, "fields": ["email_verified"] });
        emit(
            &self.events,
            found.tenant_id,
            events::USER_UPDATED,
            now,
            Some(found.user_id),
            payload,
        )
        .await;
        Ok(())
    }
}
