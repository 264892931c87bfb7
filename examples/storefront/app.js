// The demo page: everything about tokens is in auth.js; this file only draws.
import { API_URL } from "./config.js";
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

// After a sign-in: the profile, then the customer's passkeys ("Reload profile" reads the profile only).
async function showAccount() {
  await showProfile();
  if (document.body.dataset.state === "signed-in") await showPasskeys();
}

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
    await auth.login($("email").value, $("password").value);
    $("password").value = "";
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
    await showAccount();
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

if (location.pathname === "/verify-email") show("confirm");
else if (location.pathname === "/reset-password") show("reset");
else
  auth
    .restore()
    .then((restored) => (restored ? showAccount() : show("signed-out")))
    .catch(failed);
