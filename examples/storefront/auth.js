// auth.js: a storefront's whole login code, for ecommerce-auth. Copy this file; no build step.
//
// - The refresh token lives in an HttpOnly cookie that the API sets and reads
//   (X-Token-Transport: cookie). No script on the page can read it, so an XSS bug cannot
//   steal a 3-day session.
// - The access token lives in this module's memory only: never in localStorage,
//   sessionStorage or document.cookie. A reload loses it; restore() gets a new one through
//   the cookie.
// - It refreshes before the access token expires, one refresh at a time (in this page and
//   across tabs: with rotation a refresh token works once, so two parallel refreshes with
//   the same cookie would end the session), and retries a request once after a 401.
//
// - The account pages (sign-up, a new confirmation mail, the mail links' verification and
//   password reset) need no session; the password change does, and its fresh refresh token
//   replaces the cookie, as do turning two-step verification on and off.
//
// - Passkeys: a signed-in customer registers, lists and deletes them; anyone signs in with one
//   and no email, into the same cookie session as a password login. The page's host is the
//   relying party (the API's StorefrontUrl), so a passkey made here works only here.
//
// The API must list the page's origin in AllowedOrigins, and the page and the API must be on
// one site (www.shop.example and api.shop.example) for the SameSite=Strict cookie.

// The API's words: its detail, or each field's messages (a 400 of a form).
function messageOf(status, body) {
  if (body && body.detail) return body.detail;
  const fields = body && typeof body === "object" ? Object.values(body).flat() : [];
  return fields.length ? fields.join(" ") : `HTTP ${status}`;
}

export class AuthError extends Error {
  constructor(status, body) {
    super(messageOf(status, body));
    this.status = status;
    this.body = body;
  }
}

export function createAuth({ apiUrl, refreshMarginSeconds = 60, onChange = () => {} }) {
  let access = null; // the access token: memory only
  let claims = null;
  let refreshing = null; // the refresh in flight in this page
  let timer = null;

  async function read(answer) {
    const text = await answer.text();
    return { answer, body: text ? JSON.parse(text) : null };
  }

  // The token endpoints with the cookie: credentials "include" sends and accepts it.
  const COOKIE_POST = {
    method: "POST",
    credentials: "include",
    headers: { "Content-Type": "application/json", "X-Token-Transport": "cookie" },
  };

  async function cookiePost(path, body) {
    return read(await fetch(apiUrl + path, { ...COOKIE_POST, body: JSON.stringify(body) }));
  }

  // The account endpoints without a session: the body of a 2xx, else an AuthError.
  async function accountPost(path, payload) {
    const { answer, body } = await read(
      await fetch(apiUrl + path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      }),
    );
    if (!answer.ok) throw new AuthError(answer.status, body);
    return body;
  }

  function decode(token) {
    // The payload is read only to know the expiry and the customer id; the API verifies it.
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  }

  function accept(token) {
    access = token;
    claims = decode(token);
    clearTimeout(timer);
    const margin = Math.min(refreshMarginSeconds, (claims.exp - claims.iat) / 2);
    const delay = Math.max(0, (claims.exp - margin) * 1000 - Date.now());
    timer = setTimeout(() => refresh().catch(() => {}), delay);
    onChange(claims);
  }

  function forget() {
    access = null;
    claims = null;
    clearTimeout(timer);
    onChange(null);
  }

  // The claims, or { mfaRequired, ephemeralToken } when the customer has two-step verification
  // on: then verifySecondFactor(ephemeralToken, code) finishes the login (within 5 minutes).
  async function login(email, password) {
    const { answer, body } = await cookiePost("/auth/token/", { email, password });
    if (!answer.ok) throw new AuthError(answer.status, body);
    if (body.mfa_required) return { mfaRequired: true, ephemeralToken: body.ephemeral_token };
    accept(body.access);
    return claims;
  }

  // Sign in with Google or Apple: the ID token the provider's script handed the page (Apple: with
  // the raw nonce whose SHA-256 the page gave Apple). Same answer as login(): the claims, or the
  // second step's { mfaRequired, ephemeralToken } when two-step verification is on.
  async function signInWith(provider, idToken, nonce) {
    const payload = nonce ? { id_token: idToken, nonce } : { id_token: idToken };
    const { answer, body } = await cookiePost(`/auth/social/${provider}/`, payload);
    if (!answer.ok) throw new AuthError(answer.status, body);
    if (body.mfa_required) return { mfaRequired: true, ephemeralToken: body.ephemeral_token };
    accept(body.access);
    return claims;
  }

  // The code of the authenticator app, or one of the recovery codes.
  async function verifySecondFactor(ephemeralToken, code) {
    const { answer, body } = await cookiePost("/auth/mfa/verify/", { ephemeral_token: ephemeralToken, code });
    if (!answer.ok) throw new AuthError(answer.status, body);
    accept(body.access);
    return claims;
  }

  // A request of the session that may answer a fresh pair (MFA on or off ends every other
  // session): its access token here, its refresh token in the cookie.
  async function sessionRequest(path, method, payload) {
    await refreshing?.catch(() => {});
    const init = { ...COOKIE_POST, method, body: payload === undefined ? undefined : JSON.stringify(payload) };
    const { answer, body } = await read(await authFetch(path, init));
    if (!answer.ok) throw new AuthError(answer.status, body);
    if (body && body.access) accept(body.access);
    return body;
  }

  // A new access token through the cookie: true, or false when the session is over.
  function refresh() {
    if (!refreshing) {
      const run = async () => {
        const { answer, body } = await cookiePost("/auth/token/refresh/", {});
        if (answer.status === 401) {
          forget();
          return false;
        }
        if (!answer.ok) throw new AuthError(answer.status, body);
        accept(body.access);
        return true;
      };
      // The Web Locks API serialises refreshes across this origin's tabs.
      const serialised = navigator.locks ? navigator.locks.request("ecommerce-auth-refresh", run) : run();
      refreshing = serialised.finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  // fetch() for the API with the access token; after a 401, one refresh and one retry.
  async function authFetch(path, init = {}) {
    if (!access && !(await refresh())) throw new AuthError(401, null);
    const send = () =>
      fetch(apiUrl + path, { ...init, headers: { ...init.headers, Authorization: `Bearer ${access}` } });
    const answer = await send();
    if (answer.status !== 401 || !(await refresh())) return answer;
    return send();
  }

  async function logout() {
    try {
      await cookiePost("/auth/token/blacklist/", {});
    } finally {
      forget();
    }
  }

  // Every other session ends; this one goes on with the fresh pair: the access token here,
  // the refresh token in the cookie (with X-Token-Transport: cookie the API sets it).
  async function changePassword(oldPassword, newPassword1, newPassword2) {
    await refreshing?.catch(() => {}); // a refresh in flight would present the cookie the change revokes
    const payload = { old_password: oldPassword, new_password1: newPassword1, new_password2: newPassword2 };
    const { answer, body } = await read(
      await authFetch("/auth/password/change/", { ...COOKIE_POST, body: JSON.stringify(payload) }),
    );
    if (!answer.ok) throw new AuthError(answer.status, body);
    accept(body.access);
    return body.detail;
  }

  // Passkeys. The API's options are WebAuthn's JSON forms: the browser parses them and
  // serialises its answer (PublicKeyCredential.parse*OptionsFromJSON and toJSON()).
  async function apiPost(path, payload) {
    const { answer, body } = await read(
      await authFetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      }),
    );
    if (!answer.ok) throw new AuthError(answer.status, body);
    return body;
  }

  async function registerPasskey(name) {
    const options = await apiPost("/auth/passkeys/registration/options/", {});
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    return apiPost("/auth/passkeys/registration/", { credential: credential.toJSON(), name });
  }

  async function listPasskeys() {
    const { answer, body } = await read(await authFetch("/auth/passkeys/"));
    if (!answer.ok) throw new AuthError(answer.status, body);
    return body;
  }

  async function deletePasskey(id) {
    const answer = await authFetch(`/auth/passkeys/${encodeURIComponent(id)}/`, { method: "DELETE" });
    if (!answer.ok) throw new AuthError(answer.status, (await read(answer)).body);
  }

  // Sign in with a passkey, naming no account. conditional: the browser offers the passkeys in
  // the username field's autofill (an input with autocomplete="username webauthn") and this
  // resolves only when the customer picks one; abort it with signal before a modal request.
  async function passkeyLogin({ conditional = false, signal } = {}) {
    const { answer: optionsAnswer, body: options } = await cookiePost("/auth/passkeys/login/options/", {});
    if (!optionsAnswer.ok) throw new AuthError(optionsAnswer.status, options);
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
    const credential = await navigator.credentials.get({ publicKey, signal, ...(conditional ? { mediation: "conditional" } : {}) });
    signal?.throwIfAborted(); // a credential the page no longer waits for signs nobody in
    const { answer, body } = await cookiePost("/auth/passkeys/login/", { credential: credential.toJSON() });
    if (!answer.ok) throw new AuthError(answer.status, body);
    accept(body.access);
    return claims;
  }

  return {
    login,
    signInWith,
    verifySecondFactor,
    logout,
    changePassword,
    // Two-step verification (TOTP): the status; a new secret and its QR code; the app's code
    // and the password turn it on (the answer's recovery codes are shown once); a code (or a
    // recovery code) and the password turn it off.
    mfaStatus: () => sessionRequest("/auth/mfa/status/", "GET"),
    beginMfa: () => sessionRequest("/auth/mfa/totp/activate/", "GET"),
    confirmMfa: (activationToken, code, password) =>
      sessionRequest("/auth/mfa/totp/activate/", "POST", { activation_token: activationToken, code, password }),
    deactivateMfa: (code, password) => sessionRequest("/auth/mfa/totp/deactivate/", "POST", { code, password }),
    register: (email, password1, password2) => accountPost("/auth/registration/", { email, password1, password2 }),
    // The key and the password of the sign-up it was mailed for (a click alone installs nothing).
    verifyEmail: (key, password) => accountPost("/auth/registration/verify-email/", { key, password }),
    // The same answer for every address (a mail goes only to one awaiting confirmation); 429 when throttled.
    resendVerification: (email) => accountPost("/auth/registration/resend-email/", { email }),
    requestPasswordReset: (email) => accountPost("/auth/password/reset/", { email }),
    resetPassword: (uid, token, newPassword1, newPassword2) =>
      accountPost("/auth/password/reset/confirm/", { uid, token, new_password1: newPassword1, new_password2: newPassword2 }),
    restore: refresh, // on page load: true when the cookie still holds a session
    registerPasskey,
    listPasskeys,
    deletePasskey,
    passkeyLogin,
    fetch: authFetch,
    get claims() {
      return claims;
    },
  };
}
