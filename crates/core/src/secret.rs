//! Secret values that must never reach a log line.

use std::fmt;

use serde::Deserialize;

/// A password (or other secret text) as a caller sent it. `Debug` prints `***`; there is no
/// `Display` and no `Serialize`, so it cannot be formatted or echoed back by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps secret text.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret, for the one place that needs it (hashing, comparing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths: for comparing
/// secrets (tokens, secret hashes) without telling a caller where a guess went wrong.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let p = Password::new("hunter2");
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(p.expose(), "hunter2");
    }
}
