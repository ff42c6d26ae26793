//! The end of a sign-in with a passkey alone (docs/passkeys.md): the passkey was verified by
//! the `PasskeyService`; here its user gets a session as a password login's, recorded as
//! `passkey`. A passkey with user verification is two factors in one (RFC 8176 `hwk` and
//! `mfa`), so no second factor is asked, whatever the tenant requires.

use usvc_core::{CoreError, Origin, TenantId, TenantStatus, UserId, UserStatus};

use crate::auth::{AuthService, TokenPair};

impl AuthService {
    /// Opens the session of `user`, whose passkey was just verified, if the account and its
    /// tenant are active (`Unauthenticated` otherwise: one answer for every refusal).
    pub async fn passkey_login(
        &self,
        tenant: TenantId,
        user: UserId,
        client: Origin,
    ) -> Result<TokenPair, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let refused = || CoreError::Unauthenticated("this passkey signs nobody in".into());
        let tenant = self
            .tenants
            .get(tenant)
            .await?
            .filter(|t| t.status == TenantStatus::Active)
            .ok_or_else(refused)?;
        let user = self
            .users
            .get(tenant.id, user)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(refused)?;
        self.finish_login(&tenant, &user, client, "passkey", now)
            .await
    }
}
