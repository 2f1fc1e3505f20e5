// WebAuthn's binary fields (ArrayBuffers) to and from the base64url JSON that
// webauthn-rs speaks, for every page that runs a passkey ceremony. Served under
// a strict CSP: plain functions, exposed as one frozen global.
"use strict";

(() => {
  function bytesToB64url(data) {
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function b64urlToBytes(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  /** Drops `null` members: WebIDL dictionaries reject null for non-nullable members. */
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value && typeof value === "object") {
      const out = {};
      for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
      return out;
    }
    return value;
  }

  function descriptorsFromJSON(list) {
    return list ? list.map((d) => ({ ...d, id: b64urlToBytes(d.id) })) : list;
  }

  /** `publicKey` JSON for create() → PublicKeyCredentialCreationOptions. */
  function creationOptions(json) {
    const clean = withoutNulls(json);
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      try {
        return PublicKeyCredential.parseCreationOptionsFromJSON(clean);
      } catch (err) {
        console.warn("parseCreationOptionsFromJSON failed, converting by hand", err);
      }
    }
    const out = { ...clean, challenge: b64urlToBytes(clean.challenge), user: { ...clean.user, id: b64urlToBytes(clean.user.id) } };
    if (clean.excludeCredentials) out.excludeCredentials = descriptorsFromJSON(clean.excludeCredentials);
    return out;
  }

  /** `publicKey` JSON for get() → PublicKeyCredentialRequestOptions. */
  function requestOptions(json) {
    const clean = withoutNulls(json);
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      try {
        return PublicKeyCredential.parseRequestOptionsFromJSON(clean);
      } catch (err) {
        console.warn("parseRequestOptionsFromJSON failed, converting by hand", err);
      }
    }
    const out = { ...clean, challenge: b64urlToBytes(clean.challenge) };
    if (clean.allowCredentials) out.allowCredentials = descriptorsFromJSON(clean.allowCredentials);
    return out;
  }

  /** A PublicKeyCredential as the JSON webauthn-rs reads (what `toJSON()` gives). */
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try {
        return cred.toJSON();
      } catch (err) {
        console.warn("PublicKeyCredential.toJSON failed, converting by hand", err);
      }
    }
    const r = cred.response;
    const response = { clientDataJSON: bytesToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bytesToB64url(r.attestationObject);
      if (typeof r.getTransports === "function") response.transports = r.getTransports();
    } else {
      response.authenticatorData = bytesToB64url(r.authenticatorData);
      response.signature = bytesToB64url(r.signature);
      response.userHandle = r.userHandle ? bytesToB64url(r.userHandle) : null;
    }
    return {
      id: cred.id,
      rawId: bytesToB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  window.WhackWebAuthn = Object.freeze({ creationOptions, requestOptions, credentialJSON });
})();
