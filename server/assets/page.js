// What every page shares: its calls to the server's JSON API (one error type, one
// reading of answers) and how it says times. Served under a strict CSP: exposed
// as one frozen global.
"use strict";

(() => {
  /** An error answer from our API (or no answer at all: status 0). */
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message || code);
      this.name = "ApiError";
      this.status = status;
      this.code = code;
      this.serverMessage = message;
      this.retryAfter = null;
    }
  }

  /**
   * `method path`, with `body` as JSON if given; resolves to the JSON answer, or
   * null for 204. `onResponse` sees every response that arrived (its headers).
   */
  async function call(method, path, body, onResponse) {
    const init = { method, credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError(0, "network", null);
    }
    if (onResponse) onResponse(response);
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const code = data && typeof data.error === "string" ? data.error : `http_${response.status}`;
      const message = data && typeof data.message === "string" ? data.message : null;
      const error = new ApiError(response.status, code, message);
      const retryAfter = Number.parseInt(response.headers.get("Retry-After") || "", 10);
      if (Number.isFinite(retryAfter) && retryAfter > 0) error.retryAfter = retryAfter;
      throw error;
    }
    if (!data || typeof data !== "object") throw new ApiError(response.status, "bad_response", null);
    return data;
  }

  const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

  /** "5 seconds ago", "in 9 minutes"… for `deltaMs` from now. */
  function relative(deltaMs) {
    // Truncated, so "in 9 minutes" never promises more time than is left.
    const s = Math.trunc(deltaMs / 1000);
    if (Math.abs(s) < 60) return relativeFormat.format(s, "second");
    const m = Math.trunc(s / 60);
    if (Math.abs(m) < 60) return relativeFormat.format(m, "minute");
    const h = Math.trunc(m / 60);
    if (Math.abs(h) < 24) return relativeFormat.format(h, "hour");
    return relativeFormat.format(Math.trunc(h / 24), "day");
  }

  window.WhackPage = Object.freeze({ ApiError, call, relative });
})();
