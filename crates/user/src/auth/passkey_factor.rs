//! A passkey as the second factor after a password (docs/passkeys.md, ADR 0036). The login's
//! MFA challenge carries a ceremony begun with the user's passkeys, its state sealed to that
//! challenge; the device's answer comes back to `/auth/mfa/verify` with the `mfa_token` and is
//! checked like a code: it takes one of the token's tries, a refusal counts toward the
//! account's lockout like a wrong code, and the challenge is consumed once (a replayed answer
//! finds it spent).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use usvc_core::{Actor, ChallengePurpose, CoreError, Origin, Passkey, User, UserId};

use super::mfa::MFA_TOKEN_LIFETIME;
use super::{AuthService, TokenPair};
use crate::ceremony::BegunCeremony;
use crate::sealed;

/// What a sealed second-factor ceremony is bound to.
const FACTOR_CONTEXT: &[u8] = b"passkey-second-factor";

/// The ceremony's state between the login and the answer.
#[derive(Serialize, Deserialize)]
struct SealedFactor {
    /// The hash of the `mfa_token` it was begun for.
    challenge: String,
    user: UserId,
    expires_at: DateTime<Utc>,
    state: Value,
}

impl AuthService {
    /// The passkeys that can answer `user`'s second factor: none where the service has no
    /// relying party.
    pub(super) async fn factor_passkeys(&self, user: &User) -> Result<Vec<Passkey>, CoreError> {
        if self.webauthn.is_none() {
            return Ok(Vec::new());
        }
        self.passkeys.list(user.tenant_id, user.id).await
    }

    /// Begins the ceremony for the challenge whose token hashes to `challenge`, with `user`'s
    /// `passkeys` (none: no ceremony).
    pub(super) fn begin_passkey_factor(
        &self,
        challenge: &str,
        user: &User,
        passkeys: &[Passkey],
        now: DateTime<Utc>,
    ) -> Result<Option<BegunCeremony>, CoreError> {
        let Some(rp) = self.webauthn.as_deref() else {
            return Ok(None);
        };
        if passkeys.is_empty() {
            return Ok(None);
        }
        let credentials: Vec<Value> = passkeys.iter().map(|p| p.credential.clone()).collect();
        // A stored credential the relying party cannot read must not stop the login: the
        // user's other factors still answer.
        let ceremony = match rp.start_second_factor(&credentials) {
            Ok(ceremony) => ceremony,
            Err(e) => {
                tracing::error!(user = %user.id, error = %e, "passkeys cannot answer this login");
                return Ok(None);
            }
        };
        let state = sealed::seal(
            self.secrets.as_ref(),
            &SealedFactor {
                challenge: challenge.to_owned(),
                user: user.id,
                expires_at: now + MFA_TOKEN_LIFETIME,
                state: ceremony.state,
            },
            FACTOR_CONTEXT,
        )?;
        Ok(Some(BegunCeremony {
            options: ceremony.options,
            state,
        }))
    }

    /// Completes a login with a passkey's `answer` to the ceremony (`state`) the login began.
    /// The session records `passkey_mfa` (`amr` `pwd` + `hwk` + `mfa`).
    pub async fn verify_mfa_passkey(
        &self,
        mfa_token: &str,
        state: &str,
        answer: &Value,
        origin: &Origin,
    ) -> Result<TokenPair, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let (challenge, user, tenant) = self
            .open_challenge(mfa_token, ChallengePurpose::Verify, now)
            .await?;
        let begun: SealedFactor = sealed::open(self.secrets.as_ref(), state, FACTOR_CONTEXT)
            .filter(|s: &SealedFactor| {
                s.challenge == challenge.hash && s.user == user.id && s.expires_at > now
            })
            .ok_or_else(|| {
                CoreError::invalid(
                    "passkey.state",
                    "not the passkey ceremony this mfa_token's login began",
                )
            })?;
        let rp = self.webauthn.as_deref().ok_or_else(|| {
            CoreError::Unavailable("passkeys are unavailable on this service".into())
        })?;
        let name = user.email.normalized();
        let (_turn, now) = self.refuse_if_locked(tenant.id, &name, now).await?;
        let passkeys = self.passkeys.list(user.tenant_id, user.id).await?;
        let credentials: Vec<Value> = passkeys.iter().map(|p| p.credential.clone()).collect();
        let verified = match rp.finish_second_factor(answer, &begun.state, &credentials) {
            Ok(verified) => verified,
            Err(CoreError::Unauthenticated(reason)) => {
                tracing::info!(user = %user.id, reason, "a passkey second factor was refused");
                let actor = Actor::sessionless(user.id);
                self.count_failure(&tenant, name, actor, origin, now)
                    .await?;
                return Err(CoreError::Unauthenticated(
                    "the passkey's answer was refused".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        // The relying party verified against these very credentials: one of them signed.
        let passkey = passkeys
            .iter()
            .find(|p| p.credential_id == verified.credential_id)
            .ok_or_else(|| CoreError::Internal("a verified passkey is not the user's".into()))?;
        let previous = passkey.credential.clone();
        if !self
            .passkeys
            .record_use(passkey.id, previous, verified.credential, now)
            .await?
        {
            // Removed since the login began, or used at that very moment.
            return Err(CoreError::Unauthenticated(
                "the passkey's answer was refused".into(),
            ));
        }
        self.complete_challenge(challenge, (&tenant, &user), origin, "passkey_mfa", now)
            .await
    }
}
