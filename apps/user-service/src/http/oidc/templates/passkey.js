// The hosted pages' one script (docs/passkeys.md): it hands a form's passkey ceremony to the
// browser (navigator.credentials) and puts the device's answer in the form before sending it.
// The service begins and checks every ceremony; this only converts between the JSON the
// service speaks (binary fields base64url) and the ArrayBuffers the browser wants. Without it
// (no JavaScript, no WebAuthn) the passkey buttons stay hidden and the other forms work.
"use strict";

function toBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "===".slice((base64.length + 3) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
}

function toText(buffer) {
  if (!buffer) {
    return null;
  }
  let raw = "";
  for (const byte of new Uint8Array(buffer)) {
    raw += String.fromCharCode(byte);
  }
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function withBytes(list) {
  return (list || []).map((c) => Object.assign({}, c, { id: toBytes(c.id) }));
}

async function create(publicKey) {
  publicKey.challenge = toBytes(publicKey.challenge);
  publicKey.user.id = toBytes(publicKey.user.id);
  publicKey.excludeCredentials = withBytes(publicKey.excludeCredentials);
  const made = await navigator.credentials.create({ publicKey });
  return {
    id: made.id,
    rawId: toText(made.rawId),
    type: made.type,
    response: {
      attestationObject: toText(made.response.attestationObject),
      clientDataJSON: toText(made.response.clientDataJSON),
    },
    extensions: {},
  };
}

async function get(publicKey) {
  publicKey.challenge = toBytes(publicKey.challenge);
  publicKey.allowCredentials = withBytes(publicKey.allowCredentials);
  const signed = await navigator.credentials.get({ publicKey });
  return {
    id: signed.id,
    rawId: toText(signed.rawId),
    type: signed.type,
    response: {
      authenticatorData: toText(signed.response.authenticatorData),
      clientDataJSON: toText(signed.response.clientDataJSON),
      signature: toText(signed.response.signature),
      userHandle: toText(signed.response.userHandle),
    },
    extensions: {},
  };
}

function say(form, message) {
  const note = form.querySelector("[data-passkey-error]");
  if (note) {
    note.textContent = message;
    note.hidden = false;
  }
}

function wire(form) {
  const button = form.querySelector("button[data-passkey]");
  if (!button) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    const options = JSON.parse(form.dataset.options).publicKey;
    try {
      const answer = button.dataset.passkey === "create" ? await create(options) : await get(options);
      form.querySelector("input[name=credential]").value = JSON.stringify(answer);
      form.submit();
    } catch (e) {
      say(form, "The passkey did not answer (" + e.name + "). Try again, or use another way.");
    }
  });
}

if (window.PublicKeyCredential && navigator.credentials) {
  document.querySelectorAll("form[data-options]").forEach(wire);
}
