use serde_json::Value;

use crate::{CoreError, UserId};

/// A ceremony begun: what the browser passes to `navigator.credentials`, and the state the
/// answer is checked against (kept sealed by the caller until the answer comes).
#[derive(Debug, Clone, PartialEq)]
pub struct Ceremony {
    /// `{"publicKey": {...}}`, binary fields base64url.
    pub options: Value,
    /// The challenge and expectations, to give back with the answer.
    pub state: Value,
}

/// A credential the browser created and the relying party verified.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCredential {
    /// Its id (base64url).
    pub credential_id: String,
    /// The credential to store (opaque).
    pub credential: Value,
}

/// A verified assertion: which credential signed, and the credential as it is now (its
/// counter moved on).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAssertion {
    /// The credential that signed (base64url).
    pub credential_id: String,
    /// The stored credential, updated if its counter or backup state changed.
    pub credential: Value,
    /// Whether the authenticator checked the user (PIN, biometrics).
    pub user_verified: bool,
}

/// The WebAuthn relying party (docs/passkeys.md): starts and checks registration and
/// authentication ceremonies. Answers are the browser's `PublicKeyCredential` as JSON
/// (binary fields base64url). Every refusal is `Unauthenticated` (or `Validation` for an
/// answer that is not one), with a reason fit for logs.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait WebAuthn: Send + Sync {
    /// Begins registering a discoverable passkey for `user` (`name`: the account's email,
    /// `display_name`: how the device shows it), excluding the credentials it already has.
    fn start_registration(
        &self,
        user: UserId,
        name: &str,
        display_name: &str,
        existing: &[Value],
    ) -> Result<Ceremony, CoreError>;

    /// Checks the browser's answer to a registration (user verification required).
    fn finish_registration(
        &self,
        answer: &Value,
        state: &Value,
    ) -> Result<NewCredential, CoreError>;

    /// Begins a sign-in with no user named: the authenticator offers its discoverable
    /// passkeys for this service.
    fn start_passwordless(&self) -> Result<Ceremony, CoreError>;

    /// Whose passkey an answer claims to be (its user handle) and which (its credential id),
    /// read before verification, to find the credential to verify it against.
    fn identify(&self, answer: &Value) -> Result<(UserId, String), CoreError>;

    /// Checks a passwordless answer against the stored credential it names.
    fn finish_passwordless(
        &self,
        answer: &Value,
        state: &Value,
        credential: &Value,
    ) -> Result<VerifiedAssertion, CoreError>;

    /// Begins a second-factor check with the user's own credentials.
    fn start_second_factor(&self, credentials: &[Value]) -> Result<Ceremony, CoreError>;

    /// Checks a second-factor answer against the state and the user's credentials (the one
    /// that signed comes back updated).
    fn finish_second_factor(
        &self,
        answer: &Value,
        state: &Value,
        credentials: &[Value],
    ) -> Result<VerifiedAssertion, CoreError>;
}
