//! `TotpService` on totp-rs (RFC 6238) and qrcode (the enrolment QR code as SVG).

use chrono::{DateTime, Utc};
use qrcode::render::svg;
use qrcode::QrCode;
use totp_rs::{Algorithm, TOTP};
use usvc_core::ports::{TotpEnrollment, TotpService};
use usvc_core::CoreError;

/// Seconds per step: what every authenticator app assumes.
const STEP: u64 = 30;
/// Digits per code.
const DIGITS: usize = 6;
/// RFC 4648 base32 alphabet, for recovery codes (no 0/O or 1/I confusion beyond it).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// TOTP with SHA-1, 6 digits and 30 s steps, labelled with the service's issuer name.
#[derive(Debug, Clone)]
pub struct Totp {
    issuer: String,
}

impl Totp {
    /// Codes labelled `issuer` in authenticator apps (`:` is not allowed in a label and is
    /// replaced).
    pub fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.replace(':', "-"),
        }
    }

    fn totp(&self, secret: &[u8], account: &str) -> TOTP {
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            1,
            STEP,
            secret.to_vec(),
            Some(self.issuer.clone()),
            account.replace(':', "-"),
        )
    }
}

fn random<const N: usize>() -> Result<[u8; N], CoreError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
    Ok(bytes)
}

/// Equal-length comparison whose time does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl TotpService for Totp {
    fn new_secret(&self) -> Result<Vec<u8>, CoreError> {
        Ok(random::<20>()?.to_vec())
    }

    fn enrollment(&self, secret: &[u8], account: &str) -> Result<TotpEnrollment, CoreError> {
        let totp = self.totp(secret, account);
        let uri = totp.get_url();
        let qr_svg = QrCode::new(uri.as_bytes())
            .map_err(|e| CoreError::Internal(format!("QR code: {e}")))?
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        Ok(TotpEnrollment {
            secret_base32: totp.get_secret_base32(),
            otpauth_uri: uri,
            qr_svg,
        })
    }

    fn matching_step(&self, secret: &[u8], code: &str, now: DateTime<Utc>) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp(secret, "");
        let current = u64::try_from(now.timestamp()).ok()? / STEP;
        // Check all three steps whatever matches, so the time taken says nothing.
        let mut found = None;
        for step in [current.saturating_sub(1), current, current + 1] {
            if same(totp.generate(step * STEP).as_bytes(), code.as_bytes()) {
                found = found.or(i64::try_from(step).ok());
            }
        }
        found
    }

    fn recovery_codes(&self, n: usize) -> Result<Vec<String>, CoreError> {
        (0..n)
            .map(|_| {
                let bytes = random::<16>()?;
                // 16 symbols of 5 bits: 80 bits, grouped in fours for reading aloud.
                let symbols: Vec<char> = bytes
                    .iter()
                    .map(|b| char::from(BASE32[usize::from(b & 31)]))
                    .collect();
                Ok(symbols
                    .chunks(4)
                    .map(|c| c.iter().collect::<String>())
                    .collect::<Vec<_>>()
                    .join("-"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let totp = Totp::new("user-service");
        // T = 59 s → 94287082 (8 digits); the 6-digit code is its last six.
        let at = Utc.timestamp_opt(59, 0).single().expect("time");
        assert_eq!(totp.matching_step(RFC_SECRET, "287082", at), Some(1));
        let at = Utc.timestamp_opt(1_111_111_109, 0).single().expect("time");
        assert_eq!(
            totp.matching_step(RFC_SECRET, "081804", at),
            Some(37_037_036)
        );
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_two_are_not() {
        let totp = Totp::new("user-service");
        let secret = totp.new_secret().expect("secret");
        let now = Utc::now();
        let step = now.timestamp() / 30;
        let code = |s: i64| {
            totp.totp(&secret, "")
                .generate(u64::try_from(s * 30).expect("positive"))
        };
        assert_eq!(
            totp.matching_step(&secret, &code(step - 1), now),
            Some(step - 1)
        );
        assert_eq!(
            totp.matching_step(&secret, &code(step + 1), now),
            Some(step + 1)
        );
        assert_eq!(totp.matching_step(&secret, &code(step - 2), now), None);
        for junk in ["", "12345", "1234567", "abcdef", " 12 34 "] {
            assert_eq!(totp.matching_step(&secret, junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn enrolment_has_an_otpauth_uri_and_an_svg_qr_code() {
        let totp = Totp::new("user-service");
        let secret = totp.new_secret().expect("secret");
        assert_eq!(secret.len(), 20);
        let e = totp
            .enrollment(&secret, "ada@example.com")
            .expect("enrollment");
        assert!(
            e.otpauth_uri
                .starts_with("otpauth://totp/user-service:ada%40example.com?"),
            "{}",
            e.otpauth_uri
        );
        assert!(e
            .otpauth_uri
            .contains(&format!("secret={}", e.secret_base32)));
        assert!(e.qr_svg.contains("<svg"), "an SVG document");
    }

    #[test]
    fn recovery_codes_are_distinct_80_bit_groups() {
        let codes = Totp::new("x").recovery_codes(10).expect("codes");
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert!(codes
            .iter()
            .all(|c| c.len() == 19 && c.split('-').count() == 4));
    }
}
