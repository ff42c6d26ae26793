//! Who is calling the token endpoint (RFC 6749 section 2.3): exactly one method, the one the
//! client registered. Every failure is `invalid_client`, whatever failed.

use usvc_core::{ClientAuthMethod, OAuthClient};

use crate::oauth::assertion::unverified_subject;
use crate::oauth::errors::OAuthError;
use crate::oauth::provider::{Issuer, OidcProvider};

/// The credentials a token request carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCredentials {
    /// From the `Authorization: Basic` header: client id and secret (form-urlencoded first).
    pub basic: Option<(String, String)>,
    /// The form's `client_id`.
    pub client_id: Option<String>,
    /// The form's `client_secret`.
    pub client_secret: Option<String>,
    /// The form's `client_assertion_type`.
    pub assertion_type: Option<String>,
    /// The form's `client_assertion`.
    pub assertion: Option<String>,
}

impl ClientCredentials {
    /// The clients these credentials claim to be, whatever the method (an assertion's
    /// subject unverified), most explicit first: a refusal is audited in the tenant of the
    /// first that exists.
    pub fn claimed_ids(&self) -> Vec<String> {
        let basic = self.basic.as_ref().map(|(id, _)| id.clone());
        let asserted = self.assertion.as_deref().and_then(unverified_subject);
        [basic, self.client_id.clone(), asserted]
            .into_iter()
            .flatten()
            .collect()
    }
}

impl OidcProvider {
    /// The client `credentials` prove, if they do, by the method it registered.
    pub async fn authenticate_client(
        &self,
        issuer: &Issuer,
        credentials: &ClientCredentials,
    ) -> Result<OAuthClient, OAuthError> {
        let (claimed, method, secret) = match credentials {
            ClientCredentials {
                basic: Some((id, secret)),
                client_secret: None,
                assertion: None,
                ..
            } if credentials.client_id.as_ref().is_none_or(|c| c == id) => (
                id.clone(),
                ClientAuthMethod::ClientSecretBasic,
                Some(secret),
            ),
            ClientCredentials {
                basic: None,
                client_id: Some(id),
                client_secret: Some(secret),
                assertion: None,
                ..
            } => (id.clone(), ClientAuthMethod::ClientSecretPost, Some(secret)),
            ClientCredentials {
                basic: None,
                client_secret: None,
                assertion: Some(assertion),
                ..
            } => return self.asserted_client(issuer, credentials, assertion).await,
            ClientCredentials {
                basic: None,
                client_id: Some(id),
                client_secret: None,
                assertion: None,
                ..
            } => (id.clone(), ClientAuthMethod::None, None),
            _ => {
                return Err(OAuthError::invalid_client(
                    "authenticate with exactly one method",
                ))
            }
        };
        let client = self
            .client(issuer, &claimed)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        if client.auth_method != method {
            return Err(OAuthError::invalid_client(&format!(
                "this client authenticates with {}",
                client.auth_method.as_str()
            )));
        }
        if let Some(secret) = secret {
            let presented = self.ports.opaque.hash(secret);
            if !client.secret_hash.as_deref().is_some_and(|stored| {
                usvc_core::secret::constant_time_eq(stored.as_bytes(), presented.as_bytes())
            }) {
                return Err(OAuthError::invalid_client("wrong client secret"));
            }
        }
        Ok(client)
    }
}
