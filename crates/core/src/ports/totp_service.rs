use chrono::{DateTime, Utc};

use crate::CoreError;

/// What a user needs to add the account to an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrollment {
    /// The secret in base32, for typing in by hand.
    pub secret_base32: String,
    /// The `otpauth://totp/…` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// RFC 6238 time-based one-time passwords (SHA-1, 6 digits, 30 s steps: what every
/// authenticator app speaks) and recovery codes.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TotpService: Send + Sync {
    /// A fresh random 160-bit secret.
    fn new_secret(&self) -> Result<Vec<u8>, CoreError>;

    /// The enrolment material for `secret`, labelled `issuer:account`.
    fn enrollment(&self, secret: &[u8], account: &str) -> Result<TotpEnrollment, CoreError>;

    /// The time step `code` is valid for at `now`, within one step either side (clock drift),
    /// or `None`. Compares in constant time.
    fn matching_step(&self, secret: &[u8], code: &str, now: DateTime<Utc>) -> Option<i64>;

    /// `n` new single-use recovery codes (80 random bits each, `xxxx-xxxx-xxxx-xxxx`).
    fn recovery_codes(&self, n: usize) -> Result<Vec<String>, CoreError>;
}
