// Whack device sign-in page: confirm the code, sign in (or sign up) with a passkey,
// then approve or deny the terminal. Served under a strict CSP, so this is plain DOM
// code: no inline handlers, no eval, no innerHTML (everything shown is textContent).
"use strict";

(() => {
  // WebAuthn's binary fields to and from the JSON webauthn-rs speaks (webauthn.js).
  const { creationOptions, requestOptions, credentialJSON } = window.WhackWebAuthn;
  const { ApiError, call, relative } = window.WhackPage;
  // The server fills these in from whack_shared when it serves this file, so the
  // page and the server cannot disagree: user_code::ALPHABET and LEN, player_name::MAX_LEN.
  const CODE_ALPHABET = "{{CODE_ALPHABET}}";
  const CODE_LEN = Number("{{CODE_LEN}}");
  const NAME_MAX = Number("{{NAME_MAX}}");
  /** Display names: 1 to NAME_MAX letters, digits, `_`, `-` (the server checks too). */
  const NAME_RE = new RegExp(`^[A-Za-z0-9_-]{1,${NAME_MAX}}$`);
  // The server forgets unused ceremonies quickly; options older than this are fetched
  // again, in the background, so a click can still call WebAuthn synchronously.
  const OPTIONS_MAX_AGE_MS = 60_000;
  const OPTIONS_REFRESH_AT_MS = 50_000;
  const NAME_DEBOUNCE_MS = 350;
  // The Date header has one-second precision: smaller offsets are noise.
  const CLOCK_SKEW_IGNORE_MS = 5_000;
  // API error words after which this code can no longer be used on this page.
  const TERMINAL_ERRORS = new Set([
    "invalid_user_code",
    "expired_token",
    "expired_user_code",
    "code_expired",
    "access_denied",
    "already_decided",
    "already_approved",
    "already_denied",
  ]);

  const $ = (id) => document.getElementById(id);
  const el = {
    progressList: $("progress"),
    progress: { code: $("progress-code"), auth: $("progress-passkey"), decide: $("progress-decide") },
    steps: { code: $("step-code"), auth: $("step-auth"), decide: $("step-decide"), done: $("step-done") },
    titles: {
      code: $("step-code-title"),
      auth: $("step-auth-title"),
      decide: $("step-decide-title"),
      done: $("step-done-title"),
    },
    codeIntro: $("code-intro"),
    codeForm: $("code-form"),
    codeInput: $("user-code"),
    codeError: $("code-error"),
    continueBtn: $("continue"),
    request: $("request"),
    reqCode: $("req-code"),
    reqClient: $("req-client"),
    reqAddr: $("req-addr"),
    reqWhen: $("req-when"),
    reqExpires: $("req-expires"),
    requestSlotAuth: $("request-slot-auth"),
    requestSlotDecide: $("request-slot-decide"),
    signinBtn: $("signin"),
    registerForm: $("register-form"),
    nameInput: $("display-name"),
    nameError: $("name-error"),
    registerBtn: $("register"),
    lostPasskeyBtn: $("lost-passkey"),
    recoveryForm: $("recovery-form"),
    recoveryName: $("recovery-name"),
    recoveryCode: $("recovery-code"),
    recoveryError: $("recovery-error"),
    recoverBtn: $("recover"),
    denyHomeAuth: $("deny-home-auth"),
    denyHomeDecide: $("deny-home-decide"),
    parking: $("parking"),
    playerName: $("player-name"),
    approveBtn: $("approve"),
    denyBtn: $("deny"),
    doneIcon: $("done-icon"),
    doneNext: $("done-next"),
    status: $("status"),
    statusSlots: {
      code: $("status-slot-code"),
      auth: $("status-slot-auth"),
      decide: $("status-slot-decide"),
      done: $("status-slot-done"),
    },
  };

  const state = {
    step: "code",
    /** The looked-up request (RequestDetails), once step 1 is done. */
    details: null,
    /** Server clock minus ours, in ms. */
    skewMs: 0,
    /** Prefetched sign-in options: an entry from `prefetch`. */
    signin: null,
    /** Prefetched registration options for `register.name`. */
    register: null,
    /** Single-use approval handle from the last finished ceremony. */
    approval: null,
    playerName: "",
    busy: false,
    nameTimer: 0,
    ticker: 0,
  };

  // ---------------------------------------------------------------------------
  // Pure helpers

  /** Canonical 8 letters from typed input, or a message saying what is wrong. */
  function parseCode(input) {
    const letters = input.replace(/[\s-]/g, "").toUpperCase();
    if (letters.length === 0) {
      return { error: "Enter the 8-letter code shown in your terminal." };
    }
    const bad = [...letters].find((c) => !CODE_ALPHABET.includes(c));
    if (bad !== undefined) {
      return {
        error: `“${bad}” can't be in a code: codes use only the consonants ${CODE_ALPHABET} (no vowels, no digits).`,
      };
    }
    if (letters.length !== CODE_LEN) {
      return { error: `A code has 8 letters; this has ${letters.length}. Check your terminal.` };
    }
    return { code: `${letters.slice(0, 4)}-${letters.slice(4)}` };
  }

  /** Why a display name is not acceptable, or null. */
  function nameProblem(name) {
    if (name.length === 0) return "Choose a display name, for example mole_hunter.";
    if (name.length > NAME_MAX) return `That is ${name.length} characters; the limit is ${NAME_MAX}.`;
    if (!NAME_RE.test(name)) {
      const bad = [...name].find((c) => !/[A-Za-z0-9_-]/.test(c));
      const shown = bad === " " ? "spaces" : `“${bad}”`;
      return `Use only letters, digits, _ and - (no ${shown}).`;
    }
    return null;
  }

  function localTime(ms) {
    return new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // ---------------------------------------------------------------------------
  // Server calls

  function serverNow() {
    return Date.now() + state.skewMs;
  }

  function noteServerClock(response) {
    const date = Date.parse(response.headers.get("Date") || "");
    if (Number.isFinite(date)) {
      const skew = date - Date.now();
      state.skewMs = Math.abs(skew) < CLOCK_SKEW_IGNORE_MS ? 0 : skew;
    }
  }

  /** A POST to the page's API; the answer's Date header keeps our clock honest. */
  function api(path, body) {
    return call("POST", path, body, noteServerClock);
  }

  /**
   * Starts a ceremony in the background. The entry remembers the answer once it is
   * there, so a click handler can call WebAuthn without awaiting anything (Safari only
   * honours the user gesture for a synchronous call).
   */
  function prefetch(path, body) {
    const entry = { fetchedAt: Date.now(), value: null, error: null, promise: null };
    entry.promise = api(path, body).then(
      (value) => {
        entry.value = value;
        return value;
      },
      (err) => {
        entry.error = err;
        throw err;
      },
    );
    entry.promise.catch(() => {}); // Reported when (if) the entry is used.
    return entry;
  }

  function usable(entry) {
    return entry !== null && entry.error === null && Date.now() - entry.fetchedAt < OPTIONS_MAX_AGE_MS;
  }

  function signinEntry() {
    if (!usable(state.signin)) {
      state.signin = prefetch("/device/api/signin/start", { user_code: state.details.user_code });
    }
    return state.signin;
  }

  function registerEntry(name) {
    if (!usable(state.register) || state.register.name !== name) {
      state.register = prefetch("/device/api/register/start", {
        user_code: state.details.user_code,
        display_name: name,
      });
      state.register.name = name;
    }
    return state.register;
  }

  /** Keeps prefetched options fresh while the player reads the page. */
  function refreshStaleOptions() {
    if (state.step !== "auth" || state.busy) return;
    const old = (entry) => entry !== null && Date.now() - entry.fetchedAt > OPTIONS_REFRESH_AT_MS;
    if (old(state.signin)) {
      state.signin = null;
      signinEntry();
    }
    if (old(state.register)) {
      const name = state.register.name;
      state.register = null;
      if (el.nameInput.value.trim() === name) registerEntry(name);
    }
  }

  // ---------------------------------------------------------------------------
  // Messages

  function apiMessage(err) {
    switch (err.code) {
      case "network":
        return "Can't reach the Whack server. Check your connection, then try again.";
      case "invalid_user_code":
        return "That code is unknown, expired or already used. Check the code in your terminal, or start the sign-in there again for a new one.";
      case "too_many_attempts":
        if (err.serverMessage) break; // Says which limit it was and for how long.
        return err.retryAfter
          ? `Too many attempts from your network. Try again in ${err.retryAfter} seconds.`
          : "Too many attempts from your network. Wait a minute, then try again.";
      case "already_decided":
        return "This sign-in was already approved or denied, perhaps in another tab. If that wasn't you, start again in your terminal.";
      case "passkey_cloned":
        return "This passkey's signature counter went backwards, which happens when a passkey has been copied. For your safety Whack won't accept it: sign in with another passkey, or create a new account below.";
      case "name_taken":
        return "That display name is taken. Try another one.";
      case "ceremony_expired":
        return "The passkey request timed out. Try again.";
      case "unknown_passkey":
        return "Whack doesn't know that passkey (it may belong to another server). Pick another passkey, or create an account below.";
      case "invalid_recovery_code":
        return "That name and recovery code don't match. Check both — each code works only once.";
      case "recovery_code_spent":
        return "That recovery code was just used. Use another one of your codes.";
      case "passkey_rejected":
        return "Whack couldn't verify that passkey. Try again.";
      case "approval_required":
      case "approval_expired":
        return "Your sign-in is no longer fresh enough to approve.";
      case "server_error":
        return "Something went wrong on the server. Try again in a moment.";
      case "bad_response":
        return "The server sent an answer this page does not understand. Reload the page and try again.";
      default:
        break;
    }
    if (err.serverMessage) {
      const text = err.serverMessage.charAt(0).toUpperCase() + err.serverMessage.slice(1);
      return /[.!?]$/.test(text) ? text : `${text}.`;
    }
    return `Something went wrong (HTTP ${err.status}). Try again.`;
  }

  function webauthnMessage(err, kind) {
    switch (err.name) {
      case "NotAllowedError":
        return kind === "register"
          ? "The passkey prompt was closed or timed out, so no account was created. Try again when you're ready."
          : "The passkey prompt was closed or timed out. Try again — or, if you have no Whack passkey on this device yet, create an account below.";
      case "AbortError":
        return "The passkey prompt was cancelled. Try again when you're ready.";
      case "InvalidStateError":
        return "This device already holds a Whack passkey for that account. Use “Sign in with a passkey” instead.";
      case "SecurityError":
        return "Your browser refused to use a passkey on this address. Open the exact link shown in your terminal.";
      case "NotSupportedError":
        return "This browser or device can't make the kind of passkey Whack needs. Try another browser or device.";
      default:
        return `Your browser could not use the passkey (${err.name || "error"}). Try again.`;
    }
  }

  function webauthnUnavailable() {
    if (!window.isSecureContext) {
      return "Passkeys only work on https:// or http://localhost pages. Open the link shown in your terminal.";
    }
    if (!window.PublicKeyCredential || !navigator.credentials || !navigator.credentials.get) {
      return "This browser doesn't support passkeys. Open this page in an up-to-date browser — you can still deny the request below.";
    }
    return null;
  }

  // ---------------------------------------------------------------------------
  // Page state

  /** Sets the status line. `kind`: idle, busy, notice, approved, denied or error. */
  function setStatus(kind, message) {
    el.status.dataset.state = kind;
    el.status.textContent = message;
    if (kind === "notice" || kind === "error") el.status.scrollIntoView({ block: "nearest" });
  }

  function setBusy(busy, message) {
    state.busy = busy;
    // aria-disabled rather than disabled: a disabled button drops keyboard focus.
    for (const button of [el.continueBtn, el.signinBtn, el.registerBtn, el.recoverBtn, el.approveBtn, el.denyBtn]) {
      if (busy) button.setAttribute("aria-disabled", "true");
      else button.removeAttribute("aria-disabled");
    }
    el.steps[state.step].setAttribute("aria-busy", String(busy));
    if (busy) setStatus("busy", message);
    else if (el.status.dataset.state === "busy") setStatus("idle", "");
  }

  function showFieldError(input, box, message) {
    box.hidden = message === null;
    box.textContent = message || "";
    if (message === null) input.removeAttribute("aria-invalid");
    else input.setAttribute("aria-invalid", "true");
  }

  function showStep(step) {
    state.step = step;
    for (const [name, section] of Object.entries(el.steps)) section.hidden = name !== step;
    el.progressList.hidden = step === "done";
    const order = ["code", "auth", "decide"];
    const at = step === "done" ? order.length : order.indexOf(step);
    order.forEach((name, i) => {
      const item = el.progress[name];
      if (i === at) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
      item.classList.toggle("done", i < at);
      item.querySelector(".dot").textContent = i < at ? "✓" : String(i + 1);
    });
    // One request panel and one deny button, moved to where they belong.
    if (step === "auth") {
      el.requestSlotAuth.append(el.request);
      el.denyHomeAuth.append(el.denyBtn);
      el.denyBtn.textContent = "I did not start this — deny";
    } else if (step === "decide") {
      el.requestSlotDecide.append(el.request);
      el.denyHomeDecide.append(el.denyBtn);
      el.denyBtn.textContent = "Deny";
    } else {
      el.parking.append(el.request, el.denyBtn);
    }
    el.statusSlots[step].append(el.status);
    el.titles[step].focus();
  }

  function renderTimes() {
    const d = state.details;
    if (!d) return;
    const now = serverNow();
    el.reqWhen.replaceChildren(
      document.createTextNode(relative(d.requested_at - now)),
      timeNode(d.requested_at),
    );
    el.reqExpires.replaceChildren(
      document.createTextNode(relative(d.expires_at - now)),
      timeNode(d.expires_at),
    );
  }

  function timeNode(ms) {
    const t = document.createElement("time");
    t.className = "sub";
    t.dateTime = new Date(ms).toISOString();
    t.textContent = `at ${localTime(ms)}`;
    return t;
  }

  function tick() {
    if (state.step === "done" || !state.details) return;
    if (serverNow() >= state.details.expires_at && !state.busy) {
      finish("error", "This code has expired. Start the sign-in again in your terminal to get a new code.");
      return;
    }
    renderTimes();
    refreshStaleOptions();
  }

  /** The end of the page: approved, denied or a problem only a new code fixes. */
  function finish(kind, message) {
    window.clearInterval(state.ticker);
    window.clearTimeout(state.nameTimer);
    state.signin = null;
    state.register = null;
    state.approval = null;
    const title = {
      approved: "All set",
      denied: "Request denied",
      error: "This sign-in can't continue",
    }[kind];
    const next = {
      approved: "Your terminal continues by itself. You can close this tab.",
      denied: "If someone sent you this link, they got nothing. You can close this tab.",
      error: "Return to your terminal and start the sign-in again (for example with “whack login”) to get a new code.",
    }[kind];
    el.titles.done.textContent = title;
    el.doneNext.textContent = next;
    el.doneIcon.dataset.kind = kind;
    showStep("done");
    setStatus(kind, message);
  }

  function isTerminal(err) {
    return err instanceof ApiError && TERMINAL_ERRORS.has(err.code);
  }

  // ---------------------------------------------------------------------------
  // Step 1: the code

  function onCodeInput() {
    showFieldError(el.codeInput, el.codeError, null);
    const input = el.codeInput;
    // Only reformat while typing at the end, so editing in the middle is not disturbed.
    if (input.selectionStart !== input.value.length) return;
    const letters = input.value.replace(/[\s-]/g, "").toUpperCase();
    if (letters.length > 4 && letters.length <= CODE_LEN && /^[A-Z]+$/.test(letters)) {
      input.value = `${letters.slice(0, 4)}-${letters.slice(4)}`;
    }
  }

  async function onCodeSubmit(event) {
    event.preventDefault();
    if (state.busy) return;
    const parsed = parseCode(el.codeInput.value);
    if (parsed.error) {
      showFieldError(el.codeInput, el.codeError, parsed.error);
      el.codeInput.focus();
      return;
    }
    el.codeInput.value = parsed.code;
    showFieldError(el.codeInput, el.codeError, null);
    setBusy(true, "Looking up the code…");
    try {
      const details = await api("/device/api/lookup", { user_code: parsed.code });
      setBusy(false);
      onLookedUp(details);
    } catch (err) {
      setBusy(false);
      const message = err instanceof ApiError ? apiMessage(err) : String(err);
      if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
        showFieldError(el.codeInput, el.codeError, message);
        el.codeInput.focus();
      } else {
        setStatus("notice", message);
      }
    }
  }

  function onLookedUp(details) {
    state.details = details;
    el.reqCode.textContent = details.user_code;
    el.reqClient.textContent = details.client_name || details.client_id;
    el.reqAddr.textContent = details.client_addr;
    renderTimes();
    window.clearInterval(state.ticker);
    state.ticker = window.setInterval(tick, 1000);
    enterAuthStep();
  }

  // ---------------------------------------------------------------------------
  // Step 2: sign in or create an account

  function enterAuthStep() {
    showStep("auth");
    const problem = webauthnUnavailable();
    if (problem) {
      setStatus("notice", problem);
      return;
    }
    signinEntry(); // Before the click: see `prefetch`.
    const name = el.nameInput.value.trim();
    if (name && nameProblem(name) === null) registerEntry(name);
  }

  function onNameInput() {
    window.clearTimeout(state.nameTimer);
    const name = el.nameInput.value.trim();
    // Point out impossible characters at once; an empty field only on submit.
    const problem = name.length > 0 ? nameProblem(name) : null;
    showFieldError(el.nameInput, el.nameError, problem);
    if (problem !== null || name.length === 0 || webauthnUnavailable()) return;
    state.nameTimer = window.setTimeout(() => {
      if (state.step !== "auth") return;
      const entry = registerEntry(name);
      entry.promise.catch((err) => {
        if (!(err instanceof ApiError) || el.nameInput.value.trim() !== name) return;
        if (err.code === "name_taken") {
          showFieldError(el.nameInput, el.nameError, `“${name}” is taken. Try another name.`);
        } else if (err.code === "invalid_name") {
          showFieldError(el.nameInput, el.nameError, apiMessage(err));
        }
      });
    }, NAME_DEBOUNCE_MS);
  }

  function onSignin() {
    if (state.busy || state.step !== "auth") return;
    const problem = webauthnUnavailable();
    if (problem) {
      setStatus("notice", problem);
      return;
    }
    const entry = signinEntry();
    state.signin = null; // A ceremony is used once.
    runCeremony("signin", entry, (options) =>
      navigator.credentials.get({ publicKey: requestOptions(options.publicKey) }),
    );
  }

  function onRegister(event) {
    event.preventDefault();
    if (state.busy || state.step !== "auth") return;
    const name = el.nameInput.value.trim();
    const problem = nameProblem(name);
    if (problem !== null) {
      showFieldError(el.nameInput, el.nameError, problem);
      el.nameInput.focus();
      return;
    }
    const unavailable = webauthnUnavailable();
    if (unavailable) {
      setStatus("notice", unavailable);
      return;
    }
    window.clearTimeout(state.nameTimer);
    const entry = registerEntry(name);
    state.register = null;
    runCeremony("register", entry, (options) =>
      navigator.credentials.create({ publicKey: creationOptions(options.publicKey) }),
    );
  }

  /**
   * Runs one passkey ceremony with prefetched options. Called straight from the click
   * handler: when the options are already here, WebAuthn is called synchronously.
   */
  async function runCeremony(kind, entry, callWebAuthn) {
    setBusy(true, kind === "register" ? "Creating your passkey…" : "Waiting for your passkey…");
    try {
      let options;
      let pending;
      if (entry.value !== null) {
        options = entry.value;
        pending = callWebAuthn(options.options);
      } else {
        options = await entry.promise;
        pending = callWebAuthn(options.options);
      }
      const credential = await pending;
      if (!credential) throw new DOMException("No credential", "NotAllowedError");
      setBusy(true, "Checking your passkey…");
      const signedIn = await api(`/device/api/${kind}/finish`, {
        ceremony_id: options.ceremony_id,
        credential: credentialJSON(credential),
      });
      setBusy(false);
      onSignedIn(signedIn);
    } catch (err) {
      setBusy(false);
      onCeremonyError(kind, err);
    }
  }

  function onCeremonyError(kind, err) {
    if (isTerminal(err)) {
      finish("error", apiMessage(err));
      return;
    }
    if (err instanceof ApiError && (err.code === "name_taken" || err.code === "invalid_name")) {
      showFieldError(el.nameInput, el.nameError, apiMessage(err));
      el.nameInput.focus();
      setStatus("idle", "");
    } else if (err instanceof ApiError) {
      setStatus("notice", apiMessage(err));
    } else if (err instanceof DOMException || (err && typeof err.name === "string" && err.name.endsWith("Error"))) {
      setStatus("notice", webauthnMessage(err, kind));
    } else {
      setStatus("notice", `Something went wrong: ${String(err)}. Try again.`);
    }
    // Each try needs a fresh challenge; have it ready for the next click.
    if (state.step === "auth") {
      signinEntry();
      const name = el.nameInput.value.trim();
      if (kind === "register" && nameProblem(name) === null && !(err instanceof ApiError && (err.code === "name_taken" || err.code === "invalid_name"))) {
        registerEntry(name);
      }
    }
  }

  // ---------------------------------------------------------------------------
  // Step 3: approve or deny

  function onLostPasskey() {
    const open = el.recoveryForm.hidden;
    el.recoveryForm.hidden = !open;
    el.lostPasskeyBtn.setAttribute("aria-expanded", String(open));
    if (open) el.recoveryName.focus();
  }

  /** A recovery code, then at once a new passkey for that account on this device. */
  async function onRecover(event) {
    event.preventDefault();
    if (state.busy) return;
    const name = el.recoveryName.value.trim();
    const code = el.recoveryCode.value.trim();
    if (!name || !code) {
      showFieldError(el.recoveryCode, el.recoveryError, "Enter your display name and one of your recovery codes.");
      return;
    }
    showFieldError(el.recoveryCode, el.recoveryError, null);
    setBusy(true, "Checking the recovery code…");
    try {
      const started = await api("/device/api/recover/start", {
        user_code: state.details.user_code,
        name,
        recovery_code: code,
      });
      setBusy(true, "Save a new passkey for your account…");
      const credential = await navigator.credentials.create({ publicKey: creationOptions(started.options.publicKey) });
      if (!credential) throw new DOMException("No credential", "NotAllowedError");
      setBusy(true, "Saving your new passkey…");
      const signedIn = await api("/device/api/recover/finish", {
        ceremony_id: started.ceremony_id,
        credential: credentialJSON(credential),
      });
      setBusy(false);
      el.recoveryCode.value = "";
      onSignedIn(signedIn);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && (err.code === "invalid_recovery_code" || err.code === "recovery_code_spent")) {
        showFieldError(el.recoveryCode, el.recoveryError, apiMessage(err));
        el.recoveryCode.focus();
      } else if (isTerminal(err)) {
        finish("error", apiMessage(err));
      } else if (err instanceof ApiError) {
        setStatus("notice", apiMessage(err));
      } else {
        setStatus("notice", webauthnMessage(err, "register"));
      }
    }
  }

  function onSignedIn(signedIn) {
    state.approval = signedIn.approval;
    state.playerName = signedIn.name;
    state.signin = null;
    state.register = null;
    el.playerName.textContent = signedIn.name;
    setStatus("idle", "");
    showStep("decide");
  }

  async function onApprove() {
    if (state.busy || state.step !== "decide") return;
    const approval = state.approval;
    state.approval = null; // Single-use, whatever happens next.
    if (!approval) {
      backToSignIn("Sign in with your passkey again to approve.");
      return;
    }
    setBusy(true, "Approving…");
    try {
      const answer = await api("/device/api/decision", {
        user_code: state.details.user_code,
        decision: "approve",
        approval,
      });
      setBusy(false);
      if (answer.state === "approved") {
        finish(
          "approved",
          `Approved: ${state.details.client_name || state.details.client_id} is now signed in as ${state.playerName}. Return to your terminal.`,
        );
      } else if (answer.state === "denied") {
        finish("denied", "This request was already denied. Return to your terminal.");
      } else {
        finish("error", "The server gave an unexpected answer. Check your terminal.");
      }
    } catch (err) {
      setBusy(false);
      if (isTerminal(err)) finish("error", apiMessage(err));
      else backToSignIn(`Couldn't approve: ${apiMessage(err)} Every approval needs a fresh passkey sign-in, so please sign in again.`);
    }
  }

  function backToSignIn(message) {
    enterAuthStep();
    setStatus("notice", message);
  }

  async function onDeny() {
    if (state.busy || !state.details || (state.step !== "auth" && state.step !== "decide")) return;
    setBusy(true, "Denying…");
    try {
      await api("/device/api/decision", { user_code: state.details.user_code, decision: "deny" });
      setBusy(false);
      finish("denied", "Denied: the terminal was not signed in. Return to your terminal.");
    } catch (err) {
      setBusy(false);
      if (isTerminal(err)) finish("error", apiMessage(err));
      else setStatus("notice", `Couldn't deny: ${apiMessage(err)}`);
    }
  }

  // ---------------------------------------------------------------------------
  // Start

  function start() {
    el.codeForm.addEventListener("submit", onCodeSubmit);
    el.codeInput.addEventListener("input", onCodeInput);
    el.signinBtn.addEventListener("click", onSignin);
    el.registerForm.addEventListener("submit", onRegister);
    el.lostPasskeyBtn.addEventListener("click", onLostPasskey);
    el.recoveryForm.addEventListener("submit", onRecover);
    el.nameInput.addEventListener("input", onNameInput);
    el.approveBtn.addEventListener("click", onApprove);
    el.denyBtn.addEventListener("click", onDeny);

    const prefilled = new URLSearchParams(window.location.search).get("user_code");
    const parsed = prefilled ? parseCode(prefilled) : null;
    if (parsed && parsed.code) {
      el.codeInput.value = parsed.code;
      el.codeIntro.textContent = "Check that this code matches the one in your terminal, then continue.";
      el.continueBtn.focus();
    } else {
      if (prefilled) el.codeInput.value = prefilled.slice(0, 20);
      el.codeInput.focus();
    }
  }

  start();
})();
