// Whack account page: sign in with a passkey; list, add, rename and remove
// passkeys; make recovery codes; see every signed-in device, end one or all
// others; delete the account. The browser session is an HttpOnly cookie this script never sees;
// every call sends it (same origin) and the server rotates it on each. Served
// under a strict CSP: plain DOM code, no inline handlers, no innerHTML.
"use strict";

(() => {
  const { creationOptions, requestOptions, credentialJSON } = window.WhackWebAuthn;
  // api(method, path, body): the JSON body, or null for 204.
  const { ApiError, call: api, relative } = window.WhackPage;
  const $ = (id) => document.getElementById(id);
  const el = {
    viewSignin: $("view-signin"),
    viewAccount: $("view-account"),
    signinTitle: $("signin-title"),
    accountTitle: $("account-title"),
    signinBtn: $("account-signin"),
    lostPasskeyBtn: $("lost-passkey"),
    recoveryForm: $("recovery-form"),
    recoveryName: $("recovery-name"),
    recoveryCode: $("recovery-code"),
    recoveryError: $("recovery-error"),
    name: $("account-name"),
    sessions: $("session-list"),
    passkeys: $("passkey-list"),
    addPasskey: $("add-passkey"),
    recoveryState: $("recovery-state"),
    recoveryUses: $("recovery-uses"),
    recoveryShown: $("recovery-shown"),
    recoveryCodes: $("recovery-codes"),
    newRecoveryCodes: $("new-recovery-codes"),
    deleteForm: $("delete-form"),
    deleteName: $("delete-name"),
    deleteError: $("delete-error"),
    endOthers: $("end-others"),
    signout: $("account-signout"),
    status: $("status"),
  };
  let busy = false;

  // ---------------------------------------------------------------------------
  // Server calls

  function message(err) {
    if (err instanceof ApiError) {
      if (err.code === "network") return "Can't reach the Whack server. Check your connection, then try again.";
      if (err.code === "unknown_passkey") {
        return "Whack doesn't know that passkey (it may belong to another server). Pick another one.";
      }
      if (err.serverMessage) {
        const text = err.serverMessage.charAt(0).toUpperCase() + err.serverMessage.slice(1);
        return /[.!?]$/.test(text) ? text : `${text}.`;
      }
      return `Something went wrong (HTTP ${err.status}). Try again.`;
    }
    if (err && err.name === "NotAllowedError") return "The passkey prompt was closed or timed out. Try again.";
    if (err && err.name === "InvalidStateError") {
      return "This device already holds a passkey for your account. Add one on another device or security key.";
    }
    if (err && err.name === "SecurityError") {
      return "Your browser refused to use a passkey on this address. Open the server's own address.";
    }
    return `Your browser could not use the passkey (${(err && err.name) || "error"}). Try again.`;
  }

  function setStatus(kind, text) {
    el.status.dataset.state = kind;
    el.status.textContent = text;
  }

  async function busyWhile(text, work) {
    if (busy) return;
    busy = true;
    setStatus("busy", text);
    try {
      await work();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        showSignin();
      }
      setStatus("notice", message(err));
    } finally {
      busy = false;
    }
  }

  // ---------------------------------------------------------------------------
  // Showing things

  function when(ms) {
    return ms == null ? "never" : `${relative(ms - Date.now())} (${new Date(ms).toLocaleString()})`;
  }

  function text(tag, className, content) {
    const node = document.createElement(tag);
    node.className = className;
    node.textContent = content;
    return node;
  }

  function sessionItem(session) {
    const li = document.createElement("li");
    li.dataset.sessionId = session.id;
    if (session.current) li.dataset.current = "true";
    const main = document.createElement("div");
    main.className = "item-main";
    const title = text("span", "item-title", session.client);
    if (session.current) title.append(text("span", "badge", "this browser"));
    main.append(title);
    const from = session.started_from ? ` from ${session.started_from}` : "";
    main.append(text("span", "item-meta", `Signed in ${when(session.started_at)}${from}`));
    main.append(text("span", "item-meta", `Last refresh ${when(session.last_refresh_at)}`));
    main.append(text("span", "item-meta", `Last game ${when(session.last_played_at)}`));
    li.append(main);
    const end = text("button", "button secondary", session.current ? "Sign out" : "End");
    end.type = "button";
    end.dataset.action = "end-session";
    end.setAttribute("aria-label", session.current ? "Sign out of this browser" : `End the session of ${session.client} started ${when(session.started_at)}`);
    end.addEventListener("click", () => endSession(session));
    li.append(end);
    return li;
  }

  function button(label, className, onClick) {
    const node = text("button", `button ${className}`, label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function passkeyItem(passkey) {
    const li = document.createElement("li");
    li.dataset.passkeyId = passkey.id;
    const main = document.createElement("div");
    main.className = "item-main";
    const title = text("span", "item-title", passkey.name);
    title.dataset.role = "name";
    if (passkey.backed_up) title.append(text("span", "badge", "synced"));
    else if (passkey.backup_eligible) title.append(text("span", "badge", "can sync"));
    main.append(title);
    main.append(text("span", "item-meta", `Added ${when(passkey.created_at)}`));
    main.append(text("span", "item-meta", `Last used ${when(passkey.last_used_at)}`));
    li.append(main);
    const rename = button("Rename", "secondary", () => startRename(li, passkey));
    rename.dataset.action = "rename";
    rename.setAttribute("aria-label", `Rename ${passkey.name}`);
    const remove = button("Remove", "danger", () => removePasskey(passkey));
    remove.dataset.action = "remove";
    remove.setAttribute("aria-label", `Remove ${passkey.name}`);
    li.append(rename, remove);
    return li;
  }

  /** Swaps a passkey's row for a small form naming it. */
  function startRename(li, passkey) {
    const form = document.createElement("form");
    form.className = "item-main rename-form";
    const label = text("label", "visually-hidden", `New name for ${passkey.name}`);
    const input = document.createElement("input");
    input.type = "text";
    input.name = "name";
    input.maxLength = 40;
    input.value = passkey.name;
    input.id = `rename-${passkey.id}`;
    label.htmlFor = input.id;
    const save = text("button", "button primary", "Save");
    save.type = "submit";
    const cancel = button("Cancel", "secondary", () => load());
    form.append(label, input, save, cancel);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busyWhile("Renaming…", async () => {
        await api("POST", `/account/api/passkeys/${encodeURIComponent(passkey.id)}/name`, { name: input.value });
        await load();
        setStatus("success", "Renamed.");
      });
    });
    li.replaceChildren(form);
    input.focus();
    input.select();
  }

  /** A fresh passkey check, for the few minutes a sensitive action needs one. */
  async function checkPasskey() {
    setStatus("busy", "Confirm with your passkey…");
    const started = await api("POST", "/account/api/signin/start", {});
    const credential = await navigator.credentials.get({ publicKey: requestOptions(started.options.publicKey) });
    await api("POST", "/account/api/verify/finish", {
      ceremony_id: started.ceremony_id,
      credential: credentialJSON(credential),
    });
  }

  /** Runs `call`; if the server wants a fresh passkey check first, runs one and retries. */
  async function withFreshCheck(call) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "passkey_check_required")) throw err;
      await checkPasskey();
      return call();
    }
  }

  function removePasskey(passkey) {
    busyWhile("Removing the passkey…", async () => {
      await withFreshCheck(() => api("DELETE", `/account/api/passkeys/${encodeURIComponent(passkey.id)}`));
      await load();
      setStatus("success", `Removed ${passkey.name}.`);
    });
  }

  function onAddPasskey() {
    busyWhile("Waiting for your new passkey…", async () => {
      const started = await api("POST", "/account/api/passkeys/add/start", {});
      const credential = await navigator.credentials.create({ publicKey: creationOptions(started.options.publicKey) });
      setStatus("busy", "Saving the passkey…");
      await api("POST", "/account/api/passkeys/add/finish", {
        ceremony_id: started.ceremony_id,
        credential: credentialJSON(credential),
      });
      await load();
      setStatus("success", "Passkey added. You can sign in with it from now on.");
    });
  }

  function showRecovery(recovery) {
    if (recovery.generated_at == null) {
      el.recoveryState.textContent = "You have no recovery codes yet.";
      el.newRecoveryCodes.textContent = "Make recovery codes";
    } else {
      const left = recovery.left === 1 ? "1 code left" : `${recovery.left} codes left`;
      el.recoveryState.textContent = `${left} of 10, made ${when(recovery.generated_at)}.`;
      el.newRecoveryCodes.textContent = "Make new recovery codes";
    }
    el.recoveryUses.replaceChildren(
      ...recovery.uses
        .slice()
        .reverse()
        .map((use) => text("li", "", `Signed in with a recovery code ${when(use.at)} from ${use.from}`)),
    );
  }

  function onNewRecoveryCodes() {
    busyWhile("Making recovery codes…", async () => {
      const made = await withFreshCheck(() => api("POST", "/account/api/recovery-codes", {}));
      await load();
      el.recoveryCodes.replaceChildren(...made.codes.map((code) => text("li", "", code)));
      el.recoveryShown.hidden = false;
      setStatus("success", "New recovery codes made. Save them now: they are shown only this once.");
    });
  }

  function onDelete(event) {
    event.preventDefault();
    const typed = el.deleteName.value.trim();
    const wrong = typed !== el.name.textContent;
    el.deleteError.hidden = !wrong;
    el.deleteError.textContent = wrong ? "Type your display name exactly as shown above." : "";
    if (wrong) {
      el.deleteName.setAttribute("aria-invalid", "true");
      el.deleteName.focus();
      return;
    }
    el.deleteName.removeAttribute("aria-invalid");
    busyWhile("Deleting your account…", async () => {
      await withFreshCheck(() => api("POST", "/account/api/delete", { name: typed }));
      el.deleteName.value = "";
      showSignin();
      setStatus("success", "Your account is deleted, and you are signed out everywhere.");
    });
  }

  function showSignin() {
    // Nothing of the account stays on a signed-out page.
    el.name.textContent = "";
    el.passkeys.replaceChildren();
    el.sessions.replaceChildren();
    el.recoveryUses.replaceChildren();
    el.recoveryCodes.replaceChildren();
    el.recoveryShown.hidden = true;
    el.viewAccount.hidden = true;
    el.viewSignin.hidden = false;
  }

  function showAccount(overview) {
    el.name.textContent = overview.name;
    el.passkeys.replaceChildren(...overview.passkeys.map(passkeyItem));
    showRecovery(overview.recovery);
    el.sessions.replaceChildren(...overview.sessions.map(sessionItem));
    el.endOthers.disabled = overview.sessions.every((s) => s.current);
    const wasHidden = el.viewAccount.hidden;
    el.viewSignin.hidden = true;
    el.viewAccount.hidden = false;
    if (wasHidden) el.accountTitle.focus();
  }

  async function load() {
    showAccount(await api("GET", "/account/api/overview"));
  }

  // ---------------------------------------------------------------------------
  // Actions

  function onSignin() {
    busyWhile("Waiting for your passkey…", async () => {
      const started = await api("POST", "/account/api/signin/start", {});
      const credential = await navigator.credentials.get({ publicKey: requestOptions(started.options.publicKey) });
      setStatus("busy", "Signing you in…");
      await api("POST", "/account/api/signin/finish", {
        ceremony_id: started.ceremony_id,
        credential: credentialJSON(credential),
      });
      await load();
      setStatus("success", "Signed in.");
    });
  }

  function onLostPasskey() {
    const open = el.recoveryForm.hidden;
    el.recoveryForm.hidden = !open;
    el.lostPasskeyBtn.setAttribute("aria-expanded", String(open));
    if (open) el.recoveryName.focus();
  }

  function recoveryProblem(message) {
    el.recoveryError.hidden = message === null;
    el.recoveryError.textContent = message || "";
    if (message === null) el.recoveryCode.removeAttribute("aria-invalid");
    else el.recoveryCode.setAttribute("aria-invalid", "true");
  }

  /** A recovery code, then at once a new passkey for the account on this device. */
  function onRecover(event) {
    event.preventDefault();
    const name = el.recoveryName.value.trim();
    const code = el.recoveryCode.value.trim();
    if (!name || !code) {
      recoveryProblem("Enter your display name and one of your recovery codes.");
      return;
    }
    recoveryProblem(null);
    busyWhile("Checking the recovery code…", async () => {
      let started;
      try {
        started = await api("POST", "/account/api/recover/start", { name, recovery_code: code });
      } catch (err) {
        if (err instanceof ApiError && err.code === "invalid_recovery_code") {
          recoveryProblem("That name and recovery code don't match. Check both — each code works only once.");
          setStatus("idle", "");
          el.recoveryCode.focus();
          return;
        }
        throw err;
      }
      setStatus("busy", "Save a new passkey for your account…");
      const credential = await navigator.credentials.create({ publicKey: creationOptions(started.options.publicKey) });
      setStatus("busy", "Saving your new passkey…");
      await api("POST", "/account/api/recover/finish", {
        ceremony_id: started.ceremony_id,
        credential: credentialJSON(credential),
      });
      el.recoveryCode.value = "";
      el.recoveryForm.hidden = true;
      await load();
      setStatus("success", "Signed in with a recovery code, and your new passkey is saved. Remove the lost one below.");
    });
  }

  function endSession(session) {
    const label = session.current ? "Signing out…" : "Ending the session…";
    busyWhile(label, async () => {
      await api("DELETE", `/account/api/sessions/${encodeURIComponent(session.id)}`);
      if (session.current) {
        showSignin();
        setStatus("success", "Signed out of this browser.");
        el.signinTitle.focus();
        return;
      }
      await load();
      setStatus("success", `Ended: ${session.client} is signed out.`);
    });
  }

  function onEndOthers() {
    busyWhile("Signing out everywhere else…", async () => {
      const { ended } = await api("POST", "/account/api/sessions/end-others", {});
      await load();
      setStatus("success", ended === 1 ? "Ended 1 other session." : `Ended ${ended} other sessions.`);
    });
  }

  function onSignout() {
    const current = [...el.sessions.children].find((li) => li.dataset.current === "true");
    if (current) endSession({ id: current.dataset.sessionId, current: true, client: "this browser" });
  }

  async function start() {
    el.signinBtn.addEventListener("click", onSignin);
    el.lostPasskeyBtn.addEventListener("click", onLostPasskey);
    el.recoveryForm.addEventListener("submit", onRecover);
    el.endOthers.addEventListener("click", onEndOthers);
    el.addPasskey.addEventListener("click", onAddPasskey);
    el.newRecoveryCodes.addEventListener("click", onNewRecoveryCodes);
    el.deleteForm.addEventListener("submit", onDelete);
    el.signout.addEventListener("click", onSignout);
    if (!window.PublicKeyCredential || !navigator.credentials) {
      el.signinBtn.disabled = true;
      setStatus("notice", "This browser can't use passkeys. Try another browser or device.");
    }
    try {
      await load();
    } catch (err) {
      showSignin();
      if (!(err instanceof ApiError && err.status === 401)) setStatus("notice", message(err));
    }
  }

  start();
})();
