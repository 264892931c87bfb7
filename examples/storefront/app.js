// The demo page: everything about tokens is in auth.js; this file only draws.
import { API_URL, LOCAL_GOOGLE } from "./config.js";
import { createAuth } from "./auth.js";

const $ = (id) => document.getElementById(id);

const auth = createAuth({
  apiUrl: API_URL,
  onChange(claims) {
    $("access-expiry").textContent = claims ? new Date(claims.exp * 1000).toLocaleTimeString() : "";
    $("access-expiry").dataset.exp = claims ? String(claims.exp) : "";
    if (!claims) show("signed-out");
  },
});

// One state at a time: the elements whose data-for names it are shown, the others hidden.
function show(state, message = "", notice = "") {
  if (state !== document.body.dataset.state) $("login-help").hidden = true;
  document.body.dataset.state = state;
  for (const element of document.querySelectorAll("[data-for]")) element.hidden = element.dataset.for !== state;
  $("logout").hidden = state !== "signed-in";
  $("error").hidden = !message;
  $("error").textContent = message;
  $("notice").hidden = !notice;
  $("notice").textContent = notice;
  if (state === "signed-out") {
    $("passkey-list").replaceChildren(); // nothing of the last customer's stays in the page
    offerPasskeyAutofill();
  } else passkeyAutofill?.abort();
}

async function showProfile() {
  const answer = await auth.fetch(`/api/v1/customers/${auth.claims.user_id}/`);
  if (answer.status === 401) return show("signed-out", "Your session has ended; please log in again.");
  const profile = await answer.json();
  if (!answer.ok) return show("signed-in", profile.detail);
  $("who").textContent = profile.email;
  $("profile-id").textContent = profile.id;
  $("profile-email").textContent = profile.email;
  $("profile-joined").textContent = new Date(profile.date_joined).toLocaleString();
  $("profile-last-login").textContent = profile.last_login ? new Date(profile.last_login).toLocaleString() : "never";
  show("signed-in");
}

// Signed in: the profile, then the two-step verification panel and the customer's passkeys
// (the reload button redraws the profile only).
async function showAccount() {
  await showProfile();
  if (document.body.dataset.state !== "signed-in") return;
  await showMfa();
  await showPasskeys();
}

// Two-step verification: its status, the enrolment (QR code, then the recovery codes once), turning it off.
async function showMfa() {
  const status = await auth.mfaStatus();
  $("mfa-status").textContent = status.mfa_enabled
    ? `On since ${new Date(status.created_at).toLocaleDateString()}; ${status.recovery_codes_left} recovery codes left.`
    : "Off: your password alone signs you in.";
  $("mfa-status").dataset.enabled = String(status.mfa_enabled);
  $("mfa-enrol").hidden = status.mfa_enabled;
  $("mfa-off").hidden = !status.mfa_enabled;
  $("mfa-confirm").hidden = true;
}

let activationToken = null;
let ephemeralToken = null;

$("mfa-enrol").addEventListener("click", async () => {
  try {
    const offer = await auth.beginMfa();
    activationToken = offer.activation_token;
    $("mfa-qr").src = offer.qr_code_data_uri;
    $("mfa-secret").textContent = offer.secret;
    $("mfa-enrol").hidden = true;
    $("mfa-confirm").hidden = false;
  } catch (error) {
    failed(error);
  }
});

onSubmit("mfa-confirm", async () => {
  const answer = await auth.confirmMfa(activationToken, $("mfa-confirm-code").value, $("mfa-confirm-password").value);
  activationToken = null;
  for (const id of ["mfa-confirm-code", "mfa-confirm-password"]) $(id).value = "";
  $("mfa-secret").textContent = "";
  $("mfa-qr").removeAttribute("src");
  $("mfa-codes-list").replaceChildren(
    ...answer.recovery_codes.map((code) => Object.assign(document.createElement("li"), { textContent: code })),
  );
  $("mfa-codes").hidden = false;
  await showMfa();
  show("signed-in", "", "Two-step verification is on. Your other sessions have ended.");
});

$("mfa-codes-done").addEventListener("click", () => {
  $("mfa-codes-list").replaceChildren();
  $("mfa-codes").hidden = true;
});

onSubmit("mfa-off", async () => {
  await auth.deactivateMfa($("mfa-off-code").value, $("mfa-off-password").value);
  for (const id of ["mfa-off-code", "mfa-off-password"]) $(id).value = "";
  await showMfa();
  show("signed-in", "", "Two-step verification is off. Your other sessions have ended.");
});

onSubmit("mfa-step", async () => {
  await auth.verifySecondFactor(ephemeralToken, $("mfa-code").value);
  ephemeralToken = null;
  $("mfa-code").value = "";
  await showAccount();
});

const describe = (error) => {
  if (error instanceof DOMException) return `No passkey was used (${error.message}).`; // WebAuthn's own errors
  return error.status ? error.message : `The shop's API cannot be reached (${error.message}).`;
};

function failed(error) {
  show(auth.claims ? "signed-in" : "signed-out", describe(error));
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-help").hidden = true;
  try {
    const result = await auth.login($("email").value, $("password").value);
    $("password").value = "";
    if (result.mfaRequired) {
      ephemeralToken = result.ephemeralToken;
      return show("mfa");
    }
    await showAccount();
  } catch (error) {
    failed(error);
    // The API refuses an unconfirmed address as any wrong password (401): the help says both.
    $("login-help").hidden = error.status !== 401;
  }
});

// A form's submit: its action, then the state it leads to; an error keeps the form shown.
function onSubmit(id, action) {
  $(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await action();
    } catch (error) {
      show(document.body.dataset.state, describe(error));
    }
  });
}

for (const button of document.querySelectorAll("[data-go]")) button.addEventListener("click", () => show(button.dataset.go));

onSubmit("signup", async () => {
  const email = $("signup-email").value;
  await auth.register(email, $("signup-password1").value, $("signup-password2").value);
  $("check-mail-to").textContent = email;
  $("check-mail-resend").hidden = false;
  show("check-mail");
});

onSubmit("forgot", async () => {
  await auth.requestPasswordReset($("forgot-email").value);
  $("check-mail-to").textContent = $("forgot-email").value;
  $("check-mail-resend").hidden = true; // the confirmation mail again is for a sign-up
  show("check-mail");
});

// "Didn't get the mail?": the API answers the same for every address, so the page says no more
// than it knows; the new mail's link confirms the address once the customer chooses a password.
const CHOOSE_PASSWORD = "its link confirms the address once you choose your password.";
const THROTTLED = "Too many mails were asked for; please wait a few minutes and try again.";

function offerResend(buttonId, address) {
  const button = $(buttonId);
  button.addEventListener("click", async () => {
    const email = address();
    const state = document.body.dataset.state;
    button.disabled = true;
    try {
      await auth.resendVerification(email);
      show(state, "", `If ${email} awaits confirmation, a new mail is on its way: ${CHOOSE_PASSWORD}`);
    } catch (error) {
      show(state, error.status === 429 ? THROTTLED : describe(error));
    } finally {
      button.disabled = false;
    }
  });
}

offerResend("check-mail-resend", () => $("check-mail-to").textContent);
offerResend("login-resend", () => $("email").value);

// The mail links land here: /verify-email?key=... and /reset-password?uid=...&token=...
const mailLink = new URLSearchParams(location.search);

onSubmit("reset", async () => {
  await auth.resetPassword(mailLink.get("uid"), mailLink.get("token"), $("reset-password1").value, $("reset-password2").value);
  history.replaceState(null, "", "/");
  show("signed-out", "", "Your password has been reset; please log in.");
});

onSubmit("change", async () => {
  const saved = await auth.changePassword($("change-old").value, $("change-password1").value, $("change-password2").value);
  for (const id of ["change-old", "change-password1", "change-password2"]) $(id).value = "";
  show("signed-in", "", `${saved} Your other sessions have ended.`);
});

// The key confirms the address only with the password of the sign-up it was mailed for; then
// the same email and password log in. A wrong password keeps the form (the key is not spent).
onSubmit("confirm", async () => {
  const email = $("confirm-email").value;
  const password = $("confirm-password").value;
  try {
    await auth.verifyEmail(mailLink.get("key"), password);
  } catch (error) {
    if (error.status !== 404) throw error;
    history.replaceState(null, "", "/");
    return show("signed-out", `This link does not work (${error.message}).`);
  }
  history.replaceState(null, "", "/");
  $("confirm-password").value = "";
  await auth.login(email, password);
  await showAccount();
});

$("reload").addEventListener("click", () => showProfile().catch(failed));

// Passkeys: the list with a delete button each, adding one, and signing in with one (the
// browser's autofill on the email field while the login form shows, or the button).
async function showPasskeys() {
  const passkeys = await auth.listPasskeys(); // read first, then redraw at once: two reads in flight draw one list
  $("passkey-list").replaceChildren(...passkeys.map(passkeyItem));
}

function passkeyItem(passkey) {
  const item = document.createElement("li");
  item.dataset.id = passkey.id;
  item.textContent = `${passkey.name}, added ${new Date(passkey.created).toLocaleString()} `;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "link";
  remove.textContent = "Delete";
  remove.addEventListener("click", async () => {
    try {
      await auth.deletePasskey(passkey.id);
      show("signed-in", "", `Passkey "${passkey.name}" deleted.`);
      await showPasskeys();
    } catch (error) {
      failed(error);
    }
  });
  item.append(remove);
  return item;
}

onSubmit("passkey-add", async () => {
  const added = await auth.registerPasskey($("passkey-name").value);
  $("passkey-name").value = "";
  show("signed-in", "", `Passkey "${added.name}" added: you can sign in with it, no email needed.`);
  await showPasskeys();
});

let passkeyAutofill = null; // the conditional request waiting on the email field's autofill

// Claimed before any await: the page shows "signed-out" twice on load (the failed restore
// forgets the session, then says so), and a second request left running would block the next.
async function offerPasskeyAutofill() {
  if (passkeyAutofill) return;
  const pending = new AbortController();
  passkeyAutofill = pending;
  try {
    if (!(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
    await auth.passkeyLogin({ conditional: true, signal: pending.signal });
    // Aborted while its sign-in was on the wire: the flow that aborted it draws the account,
    // and a second draw in flight would wipe that flow's later notices.
    if (!pending.signal.aborted) await showAccount();
  } catch (error) {
    if (error.name !== "AbortError") failed(error);
  } finally {
    if (passkeyAutofill === pending) passkeyAutofill = null;
  }
}

$("passkey-login").addEventListener("click", async () => {
  passkeyAutofill?.abort(); // one WebAuthn request at a time
  passkeyAutofill = null;
  try {
    await auth.passkeyLogin();
    await showAccount();
  } catch (error) {
    failed(error);
  }
});

$("logout").addEventListener("click", async () => {
  $("who").textContent = "";
  await auth.logout().catch(() => {});
  show("signed-out");
});

// "Sign in with Google" against make local's own provider (tools/local_oidc.py), which speaks the
// authorization-code flow: the page sends the browser there, trades the code it brings back for
// the ID token, and posts that to the API. A deployed page gets the ID token from Google Identity
// Services instead (README, "Sign in with Google and Apple") and posts it the same way.
const GOOGLE_CALLBACK = "/google-callback";

function randomText() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

if (LOCAL_GOOGLE) {
  $("google-sign-in").hidden = false;
  $("google").addEventListener("click", () => {
    const state = randomText();
    sessionStorage.setItem("google-state", state); // not a secret: it ties the answer to this page's request
    const query = new URLSearchParams({
      client_id: LOCAL_GOOGLE.clientId,
      redirect_uri: location.origin + GOOGLE_CALLBACK,
      response_type: "code",
      scope: "openid email",
      state,
      nonce: randomText(),
    });
    location.assign(`${LOCAL_GOOGLE.issuer}/oauth2/authorize?${query}`);
  });
}

async function finishGoogleSignIn() {
  const returned = new URLSearchParams(location.search);
  const expected = sessionStorage.getItem("google-state");
  sessionStorage.removeItem("google-state");
  history.replaceState(null, "", "/");
  if (!returned.get("code") || !expected || returned.get("state") !== expected) {
    return show("signed-out", "Sign in with Google was cancelled.");
  }
  const answer = await fetch(`${LOCAL_GOOGLE.issuer}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: returned.get("code"),
      redirect_uri: location.origin + GOOGLE_CALLBACK,
      client_id: LOCAL_GOOGLE.clientId,
    }),
  });
  const tokens = await answer.json();
  if (!answer.ok) return show("signed-out", `Sign in with Google failed (${tokens.error}).`);
  const result = await auth.signInWith("google", tokens.id_token);
  if (result.mfaRequired) {
    ephemeralToken = result.ephemeralToken;
    return show("mfa");
  }
  await showAccount();
}

if (location.pathname === "/verify-email") show("confirm");
else if (location.pathname === GOOGLE_CALLBACK && LOCAL_GOOGLE) finishGoogleSignIn().catch(failed);
else if (location.pathname === "/reset-password") show("reset");
else
  auth
    .restore()
    .then((restored) => (restored ? showAccount() : show("signed-out")))
    .catch(failed);
