//! Values that travel through a browser and come back (a pending authorization request, a
//! passkey ceremony's state): JSON sealed with the `SecretBox` under a context naming what it
//! is, base64url. Any replica opens what another sealed; nobody else can read or change it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use usvc_core::ports::SecretBox;
use usvc_core::CoreError;

/// `value` sealed for `context`.
pub(crate) fn seal<T: Serialize>(
    secrets: &dyn SecretBox,
    value: &T,
    context: &[u8],
) -> Result<String, CoreError> {
    let json =
        serde_json::to_vec(value).map_err(|e| CoreError::Internal(format!("sealing: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(secrets.seal(&json, context)?))
}

/// What `sealed` holds, if it was sealed for `context` and is intact.
pub(crate) fn open<T: for<'de> Deserialize<'de>>(
    secrets: &dyn SecretBox,
    sealed: &str,
    context: &[u8],
) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let json = secrets.open(&bytes, context).ok()?;
    serde_json::from_slice(&json).ok()
}
