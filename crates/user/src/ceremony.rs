//! [`BegunCeremony`]: a WebAuthn ceremony the service began, on its way to the browser. Shared
//! by passkey registration and sign-in (`passkeys`) and by a login's second factor (`auth`).

use serde_json::Value;

/// A ceremony begun: the options for `navigator.credentials.create` (registering) or `.get`
/// (signing in), and the sealed state to send back with the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BegunCeremony {
    /// `{"publicKey": {...}}`.
    pub options: Value,
    /// Opaque; valid five minutes, for the ceremony it was begun for only.
    pub state: String,
}
