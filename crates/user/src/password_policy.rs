//! What a new password must be: long enough, not the email, not a well-known password.

use std::collections::HashSet;
use std::sync::OnceLock;

use usvc_core::{CoreError, Email, Password};

/// Shortest accepted password, in characters (NIST SP 800-63B minimum).
pub const MIN_LENGTH: usize = 8;
/// Longest accepted password: long passphrases welcome, megabyte "passwords" (a hashing DoS)
/// not.
pub const MAX_LENGTH: usize = 256;

/// The 8,354 entries of 8 or more characters from Django's list of the 20,000 most common
/// passwords (compiled by Royce Williams from breach corpora); see ADR 0008.
const COMMON: &str = include_str!("../data/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Checks a new password for `email`; the error names the `field` the caller used
/// (`password`, `new_password`) and says what to change, never echoing the password.
pub fn check(password: &Password, email: &Email, field: &str) -> Result<(), CoreError> {
    let text = password.expose();
    let length = text.chars().count();
    let problem = if length < MIN_LENGTH {
        Some(format!("must be at least {MIN_LENGTH} characters"))
    } else if length > MAX_LENGTH {
        Some(format!("must be at most {MAX_LENGTH} characters"))
    } else if text.trim().to_lowercase() == email.normalized()
        || text.to_lowercase() == email.normalized().split('@').next().unwrap_or_default()
    {
        Some("must not be your email address".to_owned())
    } else if common().contains(text.to_lowercase().as_str()) {
        Some("is one of the most common passwords; choose another".to_owned())
    } else {
        None
    };
    problem.map_or(Ok(()), |message| Err(CoreError::invalid(field, message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("ada.lovelace@example.com").expect("email")
    }

    fn verdict(password: &str) -> Result<(), CoreError> {
        check(&Password::new(password), &email(), "password")
    }

    #[test]
    fn short_long_email_and_common_passwords_are_refused() {
        assert!(verdict("correct horse battery staple").is_ok());
        assert!(verdict("x7#kq9Lm").is_ok(), "exactly 8 characters");
        for bad in [
            "short7!",
            "Ada.Lovelace@example.com",
            "ada.lovelace",
            "password1",
            "Password123",
            "qwertyuiop",
        ] {
            assert!(verdict(bad).is_err(), "{bad} must be refused");
        }
        assert!(verdict(&"a".repeat(MAX_LENGTH + 1)).is_err());
        assert!(
            verdict(&"ü".repeat(MAX_LENGTH)).is_ok(),
            "length is in characters"
        );
    }

    #[test]
    fn the_message_names_the_field_and_never_the_password() {
        let err = check(&Password::new("password1"), &email(), "new_password").expect_err("common");
        let text = err.to_string();
        assert!(text.contains("new_password"), "{text}");
        assert!(!text.contains("password1"), "{text}");
    }

    #[test]
    fn the_embedded_list_is_loaded() {
        assert!(common().len() > 8000);
        assert!(common().iter().all(|p| p.chars().count() >= MIN_LENGTH));
    }
}
