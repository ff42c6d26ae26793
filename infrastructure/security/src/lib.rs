//! `usvc-security`: the security adapters — argon2id password hashing on a bounded blocking
//! pool, JWT signing and verification with a key ring (EdDSA, `kid`, JWKS), TOTP, and AES-GCM
//! encryption of secrets at rest.
//!
//! They implement the `PasswordHasher`, `TokenService`, `TotpService` and `SecretBox` ports,
//! which arrive with the identity issue; keeping them out of the domain crates is what lets
//! `usvc-user` stay free of argon2 and jsonwebtoken.
