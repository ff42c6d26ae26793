//! The WebAuthn relying party (ADR 0036, docs/passkeys.md), over `webauthn-rs`: passkeys
//! with user verification required, attestation `none`, registered as discoverable
//! credentials so that a user can sign in without typing a name. Ceremony states and stored
//! credentials cross the port as JSON; the caller seals states and stores credentials.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use url::Url;
use usvc_core::ports::{Ceremony, NewCredential, VerifiedAssertion, WebAuthn};
use usvc_core::{CoreError, UserId};
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};
use webauthn_rs_proto::ResidentKeyRequirement;

/// The relying party of one public origin (`PUBLIC_URL`): its host is the RP id.
pub struct WebAuthnRp {
    webauthn: Webauthn,
}

fn internal(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(format!("{what}: {e}"))
}

fn refused(e: impl std::fmt::Display) -> CoreError {
    CoreError::Unauthenticated(format!("passkey refused: {e}"))
}

fn json(value: &impl Serialize, what: &str) -> Result<Value, CoreError> {
    serde_json::to_value(value).map_err(|e| internal(what, e))
}

/// Something this adapter made and the caller kept (a state, a stored credential).
fn kept<T: DeserializeOwned>(value: &Value, what: &str) -> Result<T, CoreError> {
    serde_json::from_value(value.clone()).map_err(|e| internal(what, e))
}

/// What the browser sent: malformed is the caller's mistake.
fn answer<T: DeserializeOwned>(value: &Value) -> Result<T, CoreError> {
    serde_json::from_value(value.clone())
        .map_err(|_| CoreError::invalid("credential", "is not a WebAuthn PublicKeyCredential"))
}

/// A credential id as text (base64url without padding, the form of the browser's `id`).
fn credential_id(passkey: &Passkey) -> String {
    URL_SAFE_NO_PAD.encode(passkey.cred_id())
}

impl WebAuthnRp {
    /// The relying party of `public_url` (its host the RP id, its origin the one accepted),
    /// shown to users as `name`.
    pub fn new(public_url: &str, name: &str) -> Result<Self, CoreError> {
        let origin = Url::parse(public_url).map_err(|e| internal("PUBLIC_URL", e))?;
        let rp_id = origin
            .domain()
            .ok_or_else(|| {
                CoreError::Internal(
                    "passkeys need PUBLIC_URL to name a host, not an IP address".into(),
                )
            })?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .map_err(|e| internal("WebAuthn relying party", e))?
            .rp_name(name)
            .build()
            .map_err(|e| internal("WebAuthn relying party", e))?;
        Ok(Self { webauthn })
    }
}

impl WebAuthn for WebAuthnRp {
    fn start_registration(
        &self,
        user: UserId,
        name: &str,
        display_name: &str,
        existing: &[Value],
    ) -> Result<Ceremony, CoreError> {
        let exclude = existing
            .iter()
            .map(|c| kept::<Passkey>(c, "stored passkey").map(|p| p.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(
                user.as_uuid(),
                name,
                display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(|e| internal("passkey registration", e))?;
        // Discoverable, so that the passkey alone signs the user in (the library asks for
        // "discouraged" by default; the answer is checked the same either way).
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        Ok(Ceremony {
            options: json(&options, "registration options")?,
            state: json(&state, "registration state")?,
        })
    }

    fn finish_registration(
        &self,
        answer_json: &Value,
        state: &Value,
    ) -> Result<NewCredential, CoreError> {
        let created: RegisterPublicKeyCredential = answer(answer_json)?;
        let state: PasskeyRegistration = kept(state, "registration state")?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&created, &state)
            .map_err(refused)?;
        Ok(NewCredential {
            credential_id: credential_id(&passkey),
            credential: json(&passkey, "passkey")?,
        })
    }

    fn start_passwordless(&self) -> Result<Ceremony, CoreError> {
        let (mut options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| internal("passkey sign-in", e))?;
        // A modal prompt on a button press, not the autofill ("conditional") mediation.
        options.mediation = None;
        Ok(Ceremony {
            options: json(&options, "sign-in options")?,
            state: json(&state, "sign-in state")?,
        })
    }

    fn identify(&self, answer_json: &Value) -> Result<(UserId, String), CoreError> {
        let assertion: PublicKeyCredential = answer(answer_json)?;
        let (user, _) = self
            .webauthn
            .identify_discoverable_authentication(&assertion)
            .map_err(refused)?;
        // The credential id as the raw bytes say it (the text `id` is the caller's to spoil:
        // base64url of `rawId` is what was stored, and all it can hold).
        Ok((
            UserId::from_uuid(user),
            URL_SAFE_NO_PAD.encode(&assertion.raw_id),
        ))
    }

    fn finish_passwordless(
        &self,
        answer_json: &Value,
        state: &Value,
        credential: &Value,
    ) -> Result<VerifiedAssertion, CoreError> {
        let assertion: PublicKeyCredential = answer(answer_json)?;
        let state: DiscoverableAuthentication = kept(state, "sign-in state")?;
        let mut passkey: Passkey = kept(credential, "stored passkey")?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(
                &assertion,
                state,
                Credential::from(passkey.clone()),
            )
            .map_err(refused)?;
        passkey.update_credential(&result);
        Ok(VerifiedAssertion {
            credential_id: credential_id(&passkey),
            credential: json(&passkey, "passkey")?,
            user_verified: result.user_verified(),
        })
    }

    fn start_second_factor(&self, credentials: &[Value]) -> Result<Ceremony, CoreError> {
        let passkeys = credentials
            .iter()
            .map(|c| kept::<Passkey>(c, "stored passkey"))
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| internal("passkey check", e))?;
        Ok(Ceremony {
            options: json(&options, "check options")?,
            state: json(&state, "check state")?,
        })
    }

    fn finish_second_factor(
        &self,
        answer_json: &Value,
        state: &Value,
        credentials: &[Value],
    ) -> Result<VerifiedAssertion, CoreError> {
        let assertion: PublicKeyCredential = answer(answer_json)?;
        let state: PasskeyAuthentication = kept(state, "check state")?;
        let result = self
            .webauthn
            .finish_passkey_authentication(&assertion, &state)
            .map_err(refused)?;
        for stored in credentials {
            let mut passkey: Passkey = kept(stored, "stored passkey")?;
            if passkey.update_credential(&result).is_some() {
                return Ok(VerifiedAssertion {
                    credential_id: credential_id(&passkey),
                    credential: json(&passkey, "passkey")?,
                    user_verified: result.user_verified(),
                });
            }
        }
        Err(refused("a credential the user does not have"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};
    use webauthn_rs_proto::AllowCredentials;

    use super::*;

    const ORIGIN: &str = "http://localhost:8008";

    fn rp() -> WebAuthnRp {
        WebAuthnRp::new(ORIGIN, "user-service").unwrap()
    }

    fn origin() -> Url {
        Url::parse(ORIGIN).unwrap()
    }

    /// A device with a passkey registered for `user`.
    fn registered(rp: &WebAuthnRp, user: UserId) -> (SoftPasskey, NewCredential) {
        let ceremony = rp
            .start_registration(user, "ada@example.com", "Ada", &[])
            .unwrap();
        let selection = &ceremony.options["publicKey"]["authenticatorSelection"];
        assert_eq!(
            selection["residentKey"], "required",
            "discoverable: {selection}"
        );
        assert_eq!(selection["userVerification"], "required");
        // The software authenticator makes no discoverable credentials; the answer it gives
        // is checked exactly as a phone's.
        let mut options: CreationChallengeResponse =
            serde_json::from_value(ceremony.options.clone()).unwrap();
        let chosen = options.public_key.authenticator_selection.as_mut().unwrap();
        chosen.require_resident_key = false;
        chosen.resident_key = None;
        let mut device = SoftPasskey::new(true);
        let created = device.do_registration(origin(), options).unwrap();
        let credential = rp
            .finish_registration(&serde_json::to_value(created).unwrap(), &ceremony.state)
            .unwrap();
        (device, credential)
    }

    fn sign(device: &mut SoftPasskey, options: RequestChallengeResponse) -> PublicKeyCredential {
        device.do_authentication(origin(), options).unwrap()
    }

    #[test]
    fn a_registered_passkey_passes_as_the_second_factor() {
        let rp = rp();
        let (mut device, credential) = registered(&rp, UserId::new());
        let ceremony = rp
            .start_second_factor(std::slice::from_ref(&credential.credential))
            .unwrap();
        let assertion = sign(
            &mut device,
            serde_json::from_value(ceremony.options).unwrap(),
        );
        let answer = serde_json::to_value(&assertion).unwrap();
        let verified = rp
            .finish_second_factor(
                &answer,
                &ceremony.state,
                std::slice::from_ref(&credential.credential),
            )
            .unwrap();
        assert_eq!(verified.credential_id, credential.credential_id);
        assert!(verified.user_verified);
        // The same answer again, to a new challenge, is refused.
        let fresh = rp
            .start_second_factor(std::slice::from_ref(&verified.credential))
            .unwrap();
        assert!(matches!(
            rp.finish_second_factor(&answer, &fresh.state, &[verified.credential]),
            Err(CoreError::Unauthenticated(_))
        ));
    }

    #[test]
    fn a_passkey_alone_names_its_user_and_signs_them_in() {
        let rp = rp();
        let user = UserId::new();
        let (mut device, credential) = registered(&rp, user);
        let ceremony = rp.start_passwordless().unwrap();
        assert!(
            ceremony.options.get("mediation").is_none(),
            "a modal prompt"
        );
        assert_eq!(
            ceremony.options["publicKey"]["allowCredentials"],
            serde_json::json!([])
        );
        // A phone would pick its discoverable credential; the software device is told which.
        let mut options: RequestChallengeResponse =
            serde_json::from_value(ceremony.options.clone()).unwrap();
        let stored: Passkey = serde_json::from_value(credential.credential.clone()).unwrap();
        options.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: stored.cred_id().clone(),
            transports: None,
        }];
        let mut assertion = sign(&mut device, options);
        assertion.response.user_handle = Some(user.as_uuid().as_bytes().to_vec());
        let answer = serde_json::to_value(&assertion).unwrap();
        assert_eq!(
            rp.identify(&answer).unwrap(),
            (user, credential.credential_id.clone())
        );
        // A spoiled text `id` (a NUL no database keeps) does not reach the store.
        let mut spoiled = answer.clone();
        spoiled["id"] = serde_json::json!("a\u{0}b");
        assert_eq!(
            rp.identify(&spoiled).unwrap(),
            (user, credential.credential_id.clone())
        );
        let verified = rp
            .finish_passwordless(&answer, &ceremony.state, &credential.credential)
            .unwrap();
        assert_eq!(verified.credential_id, credential.credential_id);
        assert_ne!(
            verified.credential, credential.credential,
            "the counter moved on"
        );
    }

    #[test]
    fn answers_from_another_origin_or_not_answers_at_all_are_refused() {
        let rp = rp();
        let (mut device, credential) = registered(&rp, UserId::new());
        let ceremony = rp
            .start_second_factor(std::slice::from_ref(&credential.credential))
            .unwrap();
        // A look-alike site relaying our challenge: the browser signs its own origin.
        let relayed = device
            .do_authentication(
                Url::parse("http://localhost:9999").unwrap(),
                serde_json::from_value(ceremony.options.clone()).unwrap(),
            )
            .unwrap();
        assert!(matches!(
            rp.finish_second_factor(
                &serde_json::to_value(relayed).unwrap(),
                &ceremony.state,
                std::slice::from_ref(&credential.credential)
            ),
            Err(CoreError::Unauthenticated(_))
        ));
        assert!(matches!(
            rp.finish_second_factor(
                &serde_json::json!({"id": "x"}),
                &ceremony.state,
                &[credential.credential]
            ),
            Err(CoreError::Validation(_))
        ));
        assert!(matches!(
            WebAuthnRp::new("http://127.0.0.1:8008", "user-service"),
            Err(CoreError::Internal(_))
        ));
    }
}
