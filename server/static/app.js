// The live workout page: sign in, pick a category, run a live session and see every change
// made on other devices as it happens.

import * as api from "./api.js";
import { UNITS, dateTimeText, unitLabel } from "./format.js";
import { LiveConnection } from "./live.js";
import { SessionView } from "./session-view.js";

const MESSAGE_MS = 5000;
const SESSION_HASH = /^#session=(\d+)$/;

const $ = (id) => document.getElementById(id);

const views = {
  auth: $("auth-view"),
  start: $("start-view"),
  session: $("session-view"),
};
const setForm = {
  form: $("set-form"),
  exercise: $("set-exercise"),
  type: $("set-type"),
  unit: $("set-unit"),
  value: $("set-value"),
  reps: $("set-reps"),
};
const editDialog = $("edit-dialog");

let messageTimeout = null;
// The clientId of a set whose sending failed, reused when the same set is sent again so that a
// set which did reach the server is not stored twice.
let pendingSet = null;
let editing = null;
// Session events that arrive while the session is loaded over REST, applied on top of it.
let eventsDuringLoad = null;

const sessionView = new SessionView({ onEdit: openEditDialog, onDelete: deleteSet });
const live = new LiveConnection({
  onEvent: handleEvent,
  onStatus: showConnection,
  onFreshConnect: () => reloadAll(),
});

// ---- views and messages ------------------------------------------------------------------

function showView(name) {
  for (const [key, view] of Object.entries(views)) {
    view.hidden = key !== name;
  }
}

function showMessage(text, kind = "error") {
  const message = $("message");
  message.textContent = text;
  message.dataset.kind = kind;
  message.hidden = false;
  clearTimeout(messageTimeout);
  messageTimeout = setTimeout(() => {
    message.hidden = true;
  }, MESSAGE_MS);
}

function showError(action, error) {
  console.error(action, error);
  if (error instanceof api.SignedOutError) {
    return; // The login form shows why.
  }
  showMessage(`${action}: ${error.message}`);
}

function showConnection(state) {
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = { live: "Live", connecting: "Connecting…", offline: "Offline" }[state];
}

// Run an async action with its buttons disabled, reporting a failure in the message line.
async function busy(form, action, work) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((button) => {
    button.disabled = true;
  });
  try {
    return await work();
  } catch (error) {
    showError(action, error);
    return undefined;
  } finally {
    buttons.forEach((button) => {
      button.disabled = false;
    });
  }
}

// ---- signing in and out ------------------------------------------------------------------

async function enterApp(account) {
  $("account-email").textContent = account.email;
  $("account").hidden = false;
  live.connect();
  const match = SESSION_HASH.exec(location.hash);
  if (match !== null && (await openSession(match[1]))) {
    return;
  }
  await showStart();
}

function leaveApp() {
  live.disconnect();
  sessionView.clear();
  history.replaceState(null, "", location.pathname);
  $("account").hidden = true;
  showView("auth");
}

$("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const email = $("auth-email").value.trim();
  const password = $("auth-password").value;
  const registering = event.submitter?.value === "register";
  const action = registering ? "Could not create the account" : "Could not log in";
  const account = await busy(form, action, () =>
    registering ? api.register(email, password) : api.login(email, password),
  );
  if (account !== undefined) {
    form.reset();
    await enterApp(account);
  }
});

$("logout").addEventListener("click", async () => {
  await api.logout();
  leaveApp();
});

api.onSignedOut(() => {
  leaveApp();
  showMessage("Your login expired. Log in again.");
});

// ---- start screen: categories and sessions in progress -----------------------------------

async function showStart() {
  sessionView.clear();
  history.replaceState(null, "", location.pathname);
  showView("start");
  await Promise.all([loadCategories(), loadSessions()]);
}

async function loadCategories(selectId = null) {
  let categories;
  try {
    categories = await api.request("GET", "/categories");
  } catch (error) {
    showError("Could not load categories", error);
    return;
  }
  const select = $("category-select");
  const keep = selectId ?? select.value;
  select.replaceChildren(...categories.map((category) => new Option(category.name, category.id)));
  if (categories.length === 0) {
    select.append(new Option("Add a category first", ""));
  }
  if (keep && categories.some((category) => category.id === keep)) {
    select.value = keep;
  }
}

async function loadSessions() {
  let reply;
  try {
    reply = await api.request("GET", "/sessions");
  } catch (error) {
    showError("Could not load sessions", error);
    return;
  }
  const own = reply.sessions.filter((session) => session.role === "owner");
  $("session-list").replaceChildren(...own.map(sessionItem));
  $("session-list-empty").hidden = own.length > 0;
}

function sessionItem(session) {
  const item = document.createElement("li");
  item.className = "session-item";
  const name = document.createElement("span");
  name.textContent = `${session.category.name} · started ${dateTimeText(session.createdAt)}`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = "Resume";
  button.dataset.testid = "resume-session";
  button.setAttribute("aria-label", `Resume ${session.category.name}`);
  button.addEventListener("click", () => openSession(session.id));
  item.append(name, button);
  return item;
}

$("category-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const name = $("category-name").value.trim();
  const category = await busy(form, "Could not add the category", () =>
    api.request("POST", "/categories", { name }),
  );
  if (category !== undefined) {
    form.reset();
    await loadCategories(category.id);
  }
});

$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const categoryId = $("category-select").value;
  if (!categoryId) {
    showMessage("Add a category first, then start the session.");
    return;
  }
  const session = await busy(event.currentTarget, "Could not start the session", () =>
    api.request("POST", "/sessions", { categoryId }),
  );
  if (session !== undefined) {
    enterSession(session);
  }
});

// ---- the live session ----------------------------------------------------------------------

async function openSession(sessionId) {
  eventsDuringLoad = [];
  try {
    enterSession(await api.request("GET", `/sessions/${sessionId}`));
  } catch (error) {
    showError("Could not open the session", error);
    return false;
  } finally {
    const missed = eventsDuringLoad;
    eventsDuringLoad = null;
    // Each event repeats a change or adds a later one, so applying them in order is safe.
    for (const [name, data] of missed) {
      handleEvent(name, data);
    }
  }
  return true;
}

function enterSession(session) {
  if (session.status !== "live") {
    showMessage("That workout is already finished.", "info");
    showStart();
    return;
  }
  sessionView.show(session);
  history.replaceState(null, "", `#session=${session.id}`);
  showView("session");
}

async function reloadAll() {
  if (sessionView.id !== null) {
    await openSession(sessionView.id);
  } else if (!views.start.hidden) {
    await Promise.all([loadCategories(), loadSessions()]);
  }
}

function handleEvent(name, data) {
  if (name === "resync") {
    // Events were missed and cannot be replayed: reload what the page shows.
    reloadAll();
    return;
  }
  if (name.startsWith("category:") && !views.start.hidden) {
    loadCategories();
    return;
  }
  if (name === "session:started" && !views.start.hidden) {
    loadSessions();
    return;
  }
  if (name === "record:achieved") {
    // Only records of the open session: an import elsewhere may bring hundreds.
    if (data.workoutId === sessionView.id) {
      sessionView.showRecord(data);
    }
    return;
  }
  if (!name.startsWith("session:")) {
    return;
  }
  if (eventsDuringLoad !== null) {
    eventsDuringLoad.push([name, data]);
    return;
  }
  if (data.sessionId !== sessionView.id) {
    return;
  }
  switch (name) {
    case "session:set_logged":
    case "session:set_updated":
      sessionView.applySet(data.set, { fresh: true });
      break;
    case "session:set_deleted":
      sessionView.removeSet(data.clientId);
      break;
    case "session:timer":
      sessionView.setTimer(data.timer);
      break;
    case "session:finished":
      showMessage("The session was finished.", "info");
      showStart();
      break;
  }
}

// Send a session change over the socket, or over REST while the socket is down.
function sendChange(event, data, method, path, body) {
  return live.send(event, { sessionId: sessionView.id, ...data }, () =>
    api.request(method, `/sessions/${sessionView.id}${path}`, body),
  );
}

function newClientId() {
  if (typeof crypto.randomUUID === "function") {
    return crypto.randomUUID();
  }
  // randomUUID needs a secure context, which a plain-HTTP address other than localhost is not.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  const groups = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20)];
  return [...groups, hex.slice(20)].join("-");
}

function numberOrNull(input) {
  return input.value === "" ? null : Number(input.value);
}

function fillUnits(type, selected = null) {
  setForm.unit.replaceChildren(...UNITS[type].map((unit) => new Option(unitLabel(unit), unit)));
  if (selected !== null) {
    setForm.unit.value = selected;
  }
}

setForm.type.addEventListener("change", () => fillUnits(setForm.type.value));

// A name the session already has brings that exercise's type and unit, which the server
// requires to match.
setForm.exercise.addEventListener("input", () => {
  const exercise = sessionView.findExercise(setForm.exercise.value);
  if (exercise !== null) {
    setForm.type.value = exercise.type;
    fillUnits(exercise.type, exercise.unit);
  }
});

setForm.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    exercise: {
      type: setForm.type.value,
      name: setForm.exercise.value.trim(),
      unit: setForm.unit.value,
    },
    value: numberOrNull(setForm.value),
    reps: Number(setForm.reps.value),
  };
  const key = JSON.stringify(body);
  if (pendingSet?.key !== key) {
    pendingSet = { key, clientId: newClientId() };
  }
  const clientId = pendingSet.clientId;
  const reply = await busy(setForm.form, "Could not log the set", () =>
    sendChange("session:log_set", { clientId, ...body }, "POST", "/sets", { clientId, ...body }),
  );
  if (reply !== undefined) {
    pendingSet = null;
    sessionView.applySet(reply, { fresh: true });
  }
});

function openEditDialog(set, exercise) {
  editing = set.clientId;
  $("edit-heading").textContent = `Edit set of ${exercise.name}`;
  $("edit-value-label").textContent = `Value (${unitLabel(exercise.unit)})`;
  $("edit-value").value = set.value ?? "";
  $("edit-reps").value = set.reps;
  editDialog.showModal();
}

editDialog.addEventListener("close", async () => {
  const clientId = editing;
  editing = null;
  if (editDialog.returnValue !== "save" || clientId === null) {
    return;
  }
  const change = { value: numberOrNull($("edit-value")), reps: Number($("edit-reps").value) };
  const path = `/sets/${encodeURIComponent(clientId)}`;
  try {
    const data = { clientId, ...change };
    const reply = await sendChange("session:update_set", data, "PATCH", path, change);
    sessionView.applySet(reply);
  } catch (error) {
    showError("Could not change the set", error);
  }
});

async function deleteSet(set) {
  const clientId = set.clientId;
  const path = `/sets/${encodeURIComponent(clientId)}`;
  try {
    await sendChange("session:delete_set", { clientId }, "DELETE", path);
  } catch (error) {
    // 404: the set is already gone, for example deleted from another device.
    if (!(error instanceof api.ApiError && error.status === 404)) {
      showError("Could not delete the set", error);
      return;
    }
  }
  sessionView.removeSet(clientId);
}

document.querySelectorAll("button[data-seconds]").forEach((button) => {
  button.addEventListener("click", async () => {
    const seconds = Number(button.dataset.seconds);
    try {
      const reply = await sendChange("session:start_timer", { seconds }, "POST", "/timer", {
        seconds,
      });
      sessionView.setTimer({ endsAt: reply.endsAt });
    } catch (error) {
      showError("Could not start the timer", error);
    }
  });
});

$("timer-stop").addEventListener("click", async () => {
  try {
    await sendChange("session:stop_timer", {}, "DELETE", "/timer");
    sessionView.setTimer(null);
  } catch (error) {
    showError("Could not stop the timer", error);
  }
});

$("finish-session").addEventListener("click", async () => {
  const sessionId = sessionView.id;
  const finished = await busy(views.session, "Could not finish the session", () =>
    api.request("POST", `/sessions/${sessionId}/finish`),
  );
  if (finished !== undefined) {
    showMessage("Workout finished and saved.", "info");
    await showStart();
  }
});

$("leave-session").addEventListener("click", () => showStart());

// ---- start ---------------------------------------------------------------------------------

async function boot() {
  fillUnits(setForm.type.value);
  showConnection("offline");
  if (!api.hasStoredLogin()) {
    showView("auth");
    return;
  }
  try {
    await enterApp(await api.refreshAccess());
  } catch (error) {
    if (!(error instanceof api.ApiError && error.status === 401)) {
      showError("Could not restore the login", error);
    }
    leaveApp();
  }
}

boot();
