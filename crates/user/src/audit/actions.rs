//! The names of audited actions, one place for the whole domain, so filters and reports can
//! rely on them. Rows about changes name the change; rows about attempts name the attempt
//! and carry the outcome.

/// A password (and, if on, second factor) login opened a session.
pub const LOGIN: &str = "auth.login";
/// A login attempt failed (wrong tenant, email, password or code).
pub const LOGIN_FAILED: &str = "auth.login_failed";
/// An account name was locked after repeated failures.
pub const LOCKED_OUT: &str = "auth.locked_out";
/// The caller ended their session.
pub const LOGOUT: &str = "auth.logout";
/// The caller ended all their sessions.
pub const LOGOUT_ALL: &str = "auth.logout_all";
/// A session was ended by someone or something other than its own logout.
pub const SESSION_REVOKED: &str = "session.revoked";
/// A spent refresh token was presented again; its session was revoked.
pub const REFRESH_REUSED: &str = "auth.refresh_reused";
/// The user changed their password.
pub const PASSWORD_CHANGED: &str = "auth.password_changed";
/// A password was set through a reset link.
pub const PASSWORD_RESET: &str = "auth.password_reset";
/// A proven password was re-hashed at the current parameters.
pub const PASSWORD_REHASHED: &str = "auth.password_rehashed";
/// An email address was proven through a verification link.
pub const EMAIL_VERIFIED: &str = "user.email_verified";
/// TOTP was confirmed and switched on.
pub const MFA_ENABLED: &str = "mfa.enabled";
/// TOTP was switched off.
pub const MFA_DISABLED: &str = "mfa.disabled";
/// A new set of recovery codes replaced the old one.
pub const RECOVERY_CODES_REGENERATED: &str = "mfa.recovery_codes_regenerated";
/// A user was created by an administrator, the CLI or the bootstrap.
pub const USER_CREATED: &str = "user.created";
/// A user signed themselves up.
pub const USER_REGISTERED: &str = "user.registered";
/// A batch of users was imported.
pub const USERS_IMPORTED: &str = "user.imported";
/// A user's profile, email, status or roles changed.
pub const USER_UPDATED: &str = "user.updated";
/// A user was erased.
pub const USER_DELETED: &str = "user.deleted";
/// Someone read another user's profile (the seed's `user_data_access`).
pub const USER_READ: &str = "user.read";
/// A custom role was created.
pub const ROLE_CREATED: &str = "role.created";
/// A custom role was redefined.
pub const ROLE_UPDATED: &str = "role.updated";
/// A custom role was deleted.
pub const ROLE_DELETED: &str = "role.deleted";
/// An OAuth client was registered.
pub const CLIENT_CREATED: &str = "oauth_client.created";
/// An OAuth client's definition changed.
pub const CLIENT_UPDATED: &str = "oauth_client.updated";
/// An OAuth client got a new secret.
pub const CLIENT_SECRET_ROTATED: &str = "oauth_client.secret_rotated";
/// An OAuth client was removed.
pub const CLIENT_DELETED: &str = "oauth_client.deleted";
/// A client's service account was made (its first `client_credentials` request).
pub const SERVICE_ACCOUNT_CREATED: &str = "oauth_client.service_account_created";
/// An authorization request was refused (details: why).
pub const OAUTH_AUTHORIZE_REFUSED: &str = "oauth.authorize_refused";
/// A hosted sign-in form came without the browser's CSRF token.
pub const OAUTH_CSRF_REFUSED: &str = "oauth.csrf_refused";
/// A user declined a client's consent request.
pub const OAUTH_CONSENT_DENIED: &str = "oauth.consent_denied";
/// A user allowed an application (remembered: not asked again for those scopes).
pub const OAUTH_CONSENT_GIVEN: &str = "oauth.consent_given";
/// A user withdrew their consent to an application (its grants of them ended).
pub const OAUTH_CONSENT_WITHDRAWN: &str = "oauth.consent_withdrawn";
/// An authorization code was issued to a client.
pub const OAUTH_CODE_ISSUED: &str = "oauth.code_issued";
/// A redeemed code came again; the grant it opened was revoked.
pub const OAUTH_CODE_REUSED: &str = "oauth.code_reused";
/// A client got tokens (details: the grant type).
pub const OAUTH_TOKEN_ISSUED: &str = "oauth.token_issued";
/// A token request was refused (details: the RFC 6749 error and why).
pub const OAUTH_TOKEN_REFUSED: &str = "oauth.token_refused";
/// A client revoked a token it holds (RFC 7009): its grant's session ended.
pub const OAUTH_TOKEN_REVOKED: &str = "oauth.token_revoked";
/// A client asked what an access token is (RFC 7662).
pub const OAUTH_INTROSPECTED: &str = "oauth.introspected";
/// A browser's sign-in and every grant opened from it ended (RP-initiated logout).
pub const OAUTH_LOGOUT: &str = "oauth.logout";
/// A client read a user's claims at `userinfo`.
pub const OAUTH_USERINFO: &str = "oauth.userinfo";
/// A user registered a passkey.
pub const PASSKEY_REGISTERED: &str = "passkey.registered";
/// A user renamed a passkey.
pub const PASSKEY_RENAMED: &str = "passkey.renamed";
/// A user removed a passkey.
pub const PASSKEY_REMOVED: &str = "passkey.removed";
/// A tenant was created.
pub const TENANT_CREATED: &str = "tenant.created";
/// A tenant's name, status or settings changed.
pub const TENANT_UPDATED: &str = "tenant.updated";
/// The platform set a tenant's quotas.
pub const TENANT_QUOTAS_UPDATED: &str = "tenant.quotas_updated";
/// A user was given the platform grant (from the command line).
pub const PLATFORM_GRANTED: &str = "platform.granted";
/// A user's platform grant was taken back (from the command line).
pub const PLATFORM_REVOKED: &str = "platform.revoked";
pub use usvc_core::audit::ACCESS_DENIED;
