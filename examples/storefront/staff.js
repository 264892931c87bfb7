// The staff page: Django admin's customer tasks through the service's staff routes (IsAdminUser).
// Tokens are auth.js's (the same HttpOnly refresh cookie as the shop page); the API decides who
// is staff, this page only hides what a token without the role would be refused.
import { API_URL } from "./config.js";
import { createAuth } from "./auth.js";

const $ = (id) => document.getElementById(id);
const auth = createAuth({ apiUrl: API_URL, onChange: (claims) => claims || show("signed-out") });
const listed = { page: 1, email: "" };

function show(state, message = "", notice = "") {
  document.body.dataset.state = state;
  for (const element of document.querySelectorAll("[data-for]")) element.hidden = element.dataset.for !== state;
  $("logout").hidden = state === "signed-out" || state === "loading";
  $("error").hidden = !message;
  $("error").textContent = message;
  $("notice").hidden = !notice;
  $("notice").textContent = notice;
}

const when = (value) => (value ? new Date(value).toLocaleString() : "never");

// One row per customer, with the tasks Django admin offered; every button calls the API.
function row(customer) {
  const cells = [customer.id, customer.email, customer.is_active ? "yes" : "no", when(customer.date_joined), when(customer.last_login)];
  const tr = document.createElement("tr");
  tr.dataset.id = String(customer.id);
  for (const value of cells) tr.insertCell().textContent = String(value);
  const actions = tr.insertCell();
  const tasks = [
    [customer.is_active ? "deactivate" : "activate", customer.is_active ? "Deactivate" : "Activate"],
    ["revoke-sessions", "End sessions"],
    ["password-reset", "Send reset mail"],
  ];
  for (const [action, label] of tasks) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.action = action;
    button.textContent = label;
    button.addEventListener("click", () => act(customer, action).catch(failed));
    actions.append(button);
  }
  return tr;
}

async function list() {
  const query = new URLSearchParams({ page: String(listed.page), ...(listed.email ? { email: listed.email } : {}) });
  const answer = await auth.fetch(`/api/v1/customers/?${query}`);
  if (answer.status === 401) return show("signed-out", "Your session has ended; please log in again.");
  if (answer.status === 403) return show("not-staff");
  const body = await answer.json();
  if (!answer.ok) return show("staff", body.detail);
  $("rows").replaceChildren(...body.results.map(row));
  $("count").textContent = `${body.count} customer${body.count === 1 ? "" : "s"}`;
  $("page").textContent = `page ${listed.page}`;
  $("previous").hidden = !body.previous;
  $("next").hidden = !body.next;
  show("staff", "", $("notice").textContent);
}

const DONE = {
  deactivate: (email) => `${email} is deactivated; their sessions have ended.`,
  activate: (email) => `${email} is active again.`,
  "revoke-sessions": (email) => `Every session of ${email} has ended.`,
  "password-reset": (email) => `A password reset mail is on its way to ${email}.`,
};

async function act(customer, action) {
  const answer = await auth.fetch(`/api/v1/customers/${customer.id}/${action}/`, { method: "POST" });
  const body = await answer.json();
  if (!answer.ok) return show("staff", body.detail);
  await list();
  // Said once the table shows the change.
  if (document.body.dataset.state === "staff") show("staff", "", DONE[action](customer.email));
}

function failed(error) {
  show(auth.claims ? "staff" : "signed-out", error.status ? error.message : `The shop's API cannot be reached (${error.message}).`);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await auth.login($("email").value, $("password").value);
    $("password").value = "";
    $("who").textContent = $("email").value;
    $("notice").textContent = "";
    await list();
  } catch (error) {
    failed(error);
  }
});

$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  Object.assign(listed, { page: 1, email: $("search-email").value });
  $("notice").textContent = "";
  list().catch(failed);
});
$("search-clear").addEventListener("click", () => {
  $("search-email").value = "";
  Object.assign(listed, { page: 1, email: "" });
  list().catch(failed);
});
$("previous").addEventListener("click", () => {
  listed.page -= 1;
  list().catch(failed);
});
$("next").addEventListener("click", () => {
  listed.page += 1;
  list().catch(failed);
});
$("logout").addEventListener("click", async () => {
  $("who").textContent = "";
  await auth.logout().catch(() => {});
  show("signed-out");
});

auth
  .restore()
  .then((restored) => (restored ? list() : show("signed-out")))
  .catch(failed);
