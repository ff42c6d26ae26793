//! A user's passkeys (docs/passkeys.md, ADR 0036): registering one (a ceremony begun and
//! finished by the same signed-in user, its state sealed in between), listing, renaming and
//! removing them. Each user manages their own; every change is audited.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use usvc_core::ports::{
    AuditLog, Clock, OAuthGrantRepository, PasskeyRepository, SecretBox, SingleUse, SpentOnce,
    UserRepository, WebAuthn,
};
use usvc_core::{
    Actor, AuditEntry, CoreError, Origin, Outcome, Passkey, PasskeyId, Principal, ResourceRef,
    TenantId, UserId,
};

use crate::audit::actions as audit;
use crate::auth::reauthenticate::FreshSignIn;
use crate::ceremony::BegunCeremony;
use crate::sealed;

/// How many passkeys one user may hold.
pub const MAX_PASSKEYS: usize = 20;

/// How long a begun registration may be finished.
const CEREMONY_MINUTES: i64 = 5;

/// What a sealed registration is bound to.
const REGISTRATION_CONTEXT: &[u8] = b"passkey-registration";

/// What a sealed sign-in is bound to.
const SIGN_IN_CONTEXT: &[u8] = b"passkey-sign-in";

#[derive(Serialize, Deserialize)]
struct SealedSignIn {
    /// The ceremony's random challenge: spent on the first answer, so that the sign-in
    /// cannot be replayed.
    challenge: String,
    expires_at: DateTime<Utc>,
    state: Value,
}

/// Who a passkey sign-in proved to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    /// Their tenant.
    pub tenant: TenantId,
    /// The user.
    pub user: UserId,
}

/// What the ports give the passkey use cases.
pub struct PasskeyPorts {
    /// The passkeys.
    pub passkeys: Arc<dyn PasskeyRepository>,
    /// Whose (their email names the passkey on the device).
    pub users: Arc<dyn UserRepository>,
    /// The relying party; `None` where the service has none (`PUBLIC_URL` names an IP
    /// address): passkeys are then unavailable, everything else works.
    pub webauthn: Option<Arc<dyn WebAuthn>>,
    /// Seals ceremony states.
    pub secrets: Arc<dyn SecretBox>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Which sessions are an application's grants (they do not register passkeys).
    pub grants: Arc<dyn OAuthGrantRepository>,
    /// Sign-in challenges spent (each answered once, service-wide).
    pub spent: Arc<dyn SpentOnce>,
    /// Refused sign-ins are recorded here.
    pub audit: Arc<dyn AuditLog>,
}

#[derive(Serialize, Deserialize)]
struct SealedRegistration {
    tenant: TenantId,
    user: UserId,
    /// The ceremony's random challenge: spent when the registration finishes, so one begun
    /// registration adds one passkey.
    challenge: String,
    expires_at: DateTime<Utc>,
    state: Value,
}

/// The random challenge of a ceremony's options.
fn challenge_of(options: &Value) -> Result<String, CoreError> {
    options["publicKey"]["challenge"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| CoreError::Internal("ceremony options without a challenge".into()))
}

/// A passkey's name as given: trimmed, 1-64 characters, no control characters.
fn checked_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(CoreError::invalid(
            "name",
            "1-64 characters, no control characters",
        ))
    }
}

/// Registering, listing, renaming and removing the caller's passkeys.
pub struct PasskeyService {
    ports: PasskeyPorts,
}

impl PasskeyService {
    /// A service over `ports`.
    pub fn new(ports: PasskeyPorts) -> Self {
        Self { ports }
    }

    fn rp(&self) -> Result<&dyn WebAuthn, CoreError> {
        self.ports.webauthn.as_deref().ok_or_else(|| {
            CoreError::Unavailable(
                "passkeys need PUBLIC_URL to name a host (a domain), not an IP address".into(),
            )
        })
    }

    fn now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs(self.ports.clock.now(), 6)
    }

    /// The caller's passkeys, oldest first.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<Passkey>, CoreError> {
        self.ports
            .passkeys
            .list(principal.tenant, principal.user)
            .await
    }

    /// A passkey is a lasting way into the account: only the user's own sign-in adds one,
    /// not an application's token acting for them (an OAuth grant with the `api` scope).
    /// Checked before the caller is asked to prove who they are (an application's token
    /// gets no guesses at the password).
    pub async fn first_party(&self, principal: &Principal) -> Result<(), CoreError> {
        if self.ports.grants.grant(principal.session).await?.is_some() {
            return Err(CoreError::Forbidden(
                "passkeys are registered by the user, not through an application".into(),
            ));
        }
        Ok(())
    }

    /// Begins registering a passkey for the caller, who proved who they are moments ago
    /// (`AuthService::reauthenticate` or a fresh hosted sign-in): a passkey is a lasting way
    /// into the account.
    pub async fn begin_registration(
        &self,
        principal: &Principal,
        _fresh: &FreshSignIn,
    ) -> Result<BegunCeremony, CoreError> {
        self.first_party(principal).await?;
        let user = self
            .ports
            .users
            .get(principal.tenant, principal.user)
            .await?
            .ok_or_else(|| CoreError::Unauthenticated("the account is gone".into()))?;
        let existing = self.list(principal).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(CoreError::Conflict(format!(
                "at most {MAX_PASSKEYS} passkeys: remove one first"
            )));
        }
        let credentials: Vec<Value> = existing.into_iter().map(|p| p.credential).collect();
        let shown = user
            .display_name
            .clone()
            .unwrap_or_else(|| user.email.to_string());
        let ceremony =
            self.rp()?
                .start_registration(user.id, user.email.as_str(), &shown, &credentials)?;
        let state = sealed::seal(
            self.ports.secrets.as_ref(),
            &SealedRegistration {
                tenant: principal.tenant,
                user: principal.user,
                challenge: challenge_of(&ceremony.options)?,
                expires_at: self.now() + Duration::minutes(CEREMONY_MINUTES),
                state: ceremony.state,
            },
            REGISTRATION_CONTEXT,
        )?;
        Ok(BegunCeremony {
            options: ceremony.options,
            state,
        })
    }

    /// Finishes a registration the caller began: the browser's `answer` is verified against
    /// the sealed `state` and the passkey stored under `name`.
    pub async fn finish_registration(
        &self,
        principal: &Principal,
        state: &str,
        name: &str,
        answer: &Value,
    ) -> Result<Passkey, CoreError> {
        self.first_party(principal).await?;
        let name = checked_name(name)?;
        let now = self.now();
        let begun: SealedRegistration =
            sealed::open(self.ports.secrets.as_ref(), state, REGISTRATION_CONTEXT)
                .filter(|s: &SealedRegistration| {
                    s.tenant == principal.tenant && s.user == principal.user && s.expires_at > now
                })
                .ok_or_else(|| {
                    CoreError::invalid(
                        "state",
                        "not a registration of yours begun in the last 5 minutes",
                    )
                })?;
        let created = self
            .rp()?
            .finish_registration(answer, &begun.state)
            .map_err(|e| match e {
                CoreError::Unauthenticated(reason) => CoreError::invalid("credential", reason),
                other => other,
            })?;
        // Registrations finishing side by side each passed the count when they began.
        if self.list(principal).await?.len() >= MAX_PASSKEYS {
            return Err(CoreError::Conflict(format!(
                "at most {MAX_PASSKEYS} passkeys: remove one first"
            )));
        }
        if !self
            .ports
            .spent
            .spend(
                SingleUse::PasskeyChallenge,
                begun.challenge,
                begun.expires_at,
                now,
            )
            .await?
        {
            return Err(CoreError::invalid(
                "state",
                "this registration was already finished: begin another",
            ));
        }
        let passkey = Passkey {
            id: PasskeyId::new(),
            tenant_id: principal.tenant,
            user_id: principal.user,
            name,
            credential_id: created.credential_id,
            credential: created.credential,
            created_at: now,
            last_used_at: None,
        };
        let entry = AuditEntry::by(principal, audit::PASSKEY_REGISTERED, now)
            .on(ResourceRef::one("passkey", passkey.id))
            .details(json!({ "name": passkey.name }));
        self.ports.passkeys.create(&passkey, &entry).await?;
        Ok(passkey)
    }

    /// Begins a sign-in with a passkey alone: the authenticator offers the user's
    /// discoverable passkeys for this service. The state is sealed for five minutes.
    pub fn begin_sign_in(&self) -> Result<BegunCeremony, CoreError> {
        let ceremony = self.rp()?.start_passwordless()?;
        let challenge = challenge_of(&ceremony.options)?;
        let state = sealed::seal(
            self.ports.secrets.as_ref(),
            &SealedSignIn {
                challenge,
                expires_at: self.now() + Duration::minutes(CEREMONY_MINUTES),
                state: ceremony.state,
            },
            SIGN_IN_CONTEXT,
        )?;
        Ok(BegunCeremony {
            options: ceremony.options,
            state,
        })
    }

    /// Finishes a passkey sign-in: the answer names a registered passkey (by its user handle
    /// and credential id), verifies against it, and its sign-in was not answered before.
    /// Every refusal is the same `Unauthenticated`; one naming a known passkey is audited in
    /// its user's tenant. With `tenant` (a sign-in for that tenant's application) a passkey of
    /// another tenant is refused before anything of it is used.
    pub async fn finish_sign_in(
        &self,
        state: &str,
        answer: &Value,
        origin: &Origin,
        tenant: Option<TenantId>,
    ) -> Result<SignedIn, CoreError> {
        let refused = || CoreError::Unauthenticated("the passkey sign-in failed".into());
        let now = self.now();
        let begun: SealedSignIn = sealed::open(self.ports.secrets.as_ref(), state, SIGN_IN_CONTEXT)
            .filter(|s: &SealedSignIn| s.expires_at > now)
            .ok_or_else(|| {
                CoreError::invalid("state", "not a sign-in begun in the last 5 minutes")
            })?;
        let rp = self.rp()?;
        let (user, credential_id) = rp.identify(answer).map_err(|e| match e {
            CoreError::Validation(errors) => CoreError::Validation(errors),
            _ => refused(),
        })?;
        let passkey = self
            .ports
            .passkeys
            .find_by_credential(credential_id)
            .await?
            .filter(|p| p.user_id == user)
            .ok_or_else(refused)?;
        if tenant.is_some_and(|t| t != passkey.tenant_id) {
            self.refused(&passkey, "a passkey of another tenant", origin, now)
                .await;
            return Err(refused());
        }
        let verified = match rp.finish_passwordless(answer, &begun.state, &passkey.credential) {
            Ok(verified) => verified,
            Err(CoreError::Unauthenticated(reason)) => {
                self.refused(&passkey, &reason, origin, now).await;
                return Err(refused());
            }
            Err(e) => return Err(e),
        };
        if !self
            .ports
            .spent
            .spend(
                SingleUse::PasskeyChallenge,
                begun.challenge.clone(),
                begun.expires_at,
                now,
            )
            .await?
        {
            self.refused(&passkey, "a sign-in answered twice", origin, now)
                .await;
            return Err(refused());
        }
        let previous = passkey.credential.clone();
        if !self
            .ports
            .passkeys
            .record_use(passkey.id, previous, verified.credential, now)
            .await?
        {
            self.refused(
                &passkey,
                "the passkey was removed or used at that moment",
                origin,
                now,
            )
            .await;
            return Err(refused());
        }
        Ok(SignedIn {
            tenant: passkey.tenant_id,
            user: passkey.user_id,
        })
    }

    async fn refused(&self, passkey: &Passkey, reason: &str, origin: &Origin, now: DateTime<Utc>) {
        let entry = AuditEntry::system(passkey.tenant_id, audit::LOGIN_FAILED, now)
            .from(Actor::sessionless(passkey.user_id), origin)
            .on(ResourceRef::one("user", passkey.user_id))
            .outcome(Outcome::Failure)
            .details(json!({ "method": "passkey", "passkey_id": passkey.id, "reason": reason }));
        if let Err(e) = self.ports.audit.append(entry).await {
            tracing::warn!(error = %e, "a refused passkey sign-in was not audited");
        }
    }

    /// Renames one of the caller's passkeys.
    pub async fn rename(
        &self,
        principal: &Principal,
        id: PasskeyId,
        name: &str,
    ) -> Result<Passkey, CoreError> {
        let name = checked_name(name)?;
        let entry = AuditEntry::by(principal, audit::PASSKEY_RENAMED, self.now())
            .on(ResourceRef::one("passkey", id))
            .details(json!({ "name": name }));
        if !self
            .ports
            .passkeys
            .rename(principal.tenant, principal.user, id, name, &entry)
            .await?
        {
            return Err(CoreError::NotFound("passkey".into()));
        }
        self.list(principal)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| CoreError::NotFound("passkey".into()))
    }

    /// Removes one of the caller's passkeys: it signs nobody in from now on.
    pub async fn remove(&self, principal: &Principal, id: PasskeyId) -> Result<(), CoreError> {
        let entry = AuditEntry::by(principal, audit::PASSKEY_REMOVED, self.now())
            .on(ResourceRef::one("passkey", id));
        if self
            .ports
            .passkeys
            .delete(principal.tenant, principal.user, id, &entry)
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::NotFound("passkey".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_short_and_printable() {
        assert_eq!(checked_name("  Work laptop ").unwrap(), "Work laptop");
        for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
    }
}
