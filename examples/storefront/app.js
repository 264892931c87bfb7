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

function show(state, message = "") {
  document.body.dataset.state = state;
  $("loading").hidden = state !== "loading";
  $("login").hidden = state !== "signed-out";
  $("profile").hidden = state !== "signed-in";
  $("logout").hidden = state !== "signed-in";
  $("error").hidden = !message;
  $("error").textContent = message;
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

function failed(error) {
  show(auth.claims ? "signed-in" : "signed-out", error.status ? error.message : `The shop's API cannot be reached (${error.message}).`);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await auth.login($("email").value, $("password").value);
    $("password").value = "";
    await showProfile();
  } catch (error) {
    failed(error);
  }
});

$("reload").addEventListener("click", () => showProfile().catch(failed));

$("logout").addEventListener("click", async () => {
  $("who").textContent = "";
  await auth.logout().catch(() => {});
  show("signed-out");
});

auth
  .restore()
  .then((restored) => (restored ? showProfile() : show("signed-out")))
  .catch(failed);
