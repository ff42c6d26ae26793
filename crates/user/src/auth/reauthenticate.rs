//! Proof of a fresh sign-in before a lasting credential is added (a passkey; TOTP asks the
//! same way): a stolen session, or a browser left signed in, must not pin its holder's
//! authenticator on the account. A [`FreshSignIn`] is made only here, so a service that adds
//! credentials (the `PasskeyService`) cannot be called without one.

use chrono::{DateTime, Utc};
use usvc_core::{Actor, CoreError, Password, Principal, User};

use super::AuthService;

/// How long a sign-in counts as fresh.
pub const FRESH_SIGN_IN: chrono::Duration = chrono::Duration::minutes(5);

/// The caller proved who they are moments ago (their password, or a sign-in within
/// [`FRESH_SIGN_IN`]).
#[derive(Debug)]
pub struct FreshSignIn {
    _proof: (),
}

impl AuthService {
    /// Checks the caller's password; a wrong one counts toward the account's lockout.
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        password: &Password,
    ) -> Result<FreshSignIn, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let user = self.profile(principal).await?;
        self.password_proves(&user, principal, password, now)
            .await?;
        Ok(FreshSignIn { _proof: () })
    }

    /// A sign-in made at `auth_time` (the hosted pages' browser sign-in), if still fresh.
    pub fn fresh_since(&self, auth_time: DateTime<Utc>) -> Option<FreshSignIn> {
        (self.clock.now() - auth_time < FRESH_SIGN_IN).then_some(FreshSignIn { _proof: () })
    }

    /// `Ok` if `password` is `user`'s (`principal` acting); a wrong one is a `password`
    /// validation error and counts toward the lockout.
    pub(super) async fn password_proves(
        &self,
        user: &User,
        principal: &Principal,
        password: &Password,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        let tenant = self
            .tenants
            .get(user.tenant_id)
            .await?
            .ok_or_else(|| CoreError::NotFound("tenant".into()))?;
        let name = user.email.normalized();
        let (_turn, now) = self.refuse_if_locked(tenant.id, &name, now).await?;
        if self
            .check_password(user.tenant_id, &user.email, password)
            .await?
            .is_none()
        {
            let actor = Actor::caller(principal);
            self.count_failure(&tenant, name, actor, &principal.origin, now)
                .await?;
            return Err(CoreError::invalid("password", "is not right"));
        }
        Ok(())
    }
}
