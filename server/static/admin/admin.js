// The operators' job dashboard: logs in through /auth/login and reads the /admin API.
// Values from the server are put in the page as text, never as HTML.

const STORE_KEY = "nappatzim-admin";
const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);
let session = loadSession();
let timer = null;

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY));
  } catch {
    return null;
  }
}

function saveSession(value) {
  session = value;
  if (value) sessionStorage.setItem(STORE_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(STORE_KEY);
}

function showMessage(text, kind = "error") {
  const element = $("message");
  element.textContent = text;
  element.dataset.kind = kind;
  element.hidden = !text;
}

async function send(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (session) headers.Authorization = `Bearer ${session.accessToken}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, { ...options, headers });
}

// Calls the API, renewing the access token once with the refresh token when it expired.
async function api(path, options = {}) {
  let response = await send(path, options);
  if (response.status === 401 && session?.refreshToken) {
    const renewed = await fetch("/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    });
    if (renewed.ok) {
      const body = await renewed.json();
      saveSession({ ...session, accessToken: body.accessToken });
      response = await send(path, options);
    }
  }
  if (response.status === 401 || response.status === 403) {
    const reason = response.status === 403
      ? "This account does not have the admin role."
      : "Your session ended: log in again.";
    logOut(reason);
    throw new Error(reason);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error || `${path} failed with status ${response.status}`);
  }
  return response.json();
}

async function logIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    showMessage(body.error || `login failed with status ${response.status}`);
    return;
  }
  if (body.role !== "admin") {
    showMessage("This account does not have the admin role.");
    return;
  }
  saveSession({
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    email: body.email,
  });
  showMessage("");
  event.target.reset();
  start();
}

function logOut(reason = "") {
  if (session?.refreshToken) {
    fetch("/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    }).catch(() => {});
  }
  saveSession(null);
  clearInterval(timer);
  timer = null;
  $("dashboard").hidden = true;
  $("account").hidden = true;
  $("login-view").hidden = false;
  showMessage(reason);
}

function start() {
  $("login-view").hidden = true;
  $("dashboard").hidden = false;
  $("account").hidden = false;
  $("account-email").textContent = session.email;
  load();
  clearInterval(timer);
  timer = setInterval(load, REFRESH_MS);
}

async function load() {
  const retried = $("show-retried").checked ? "" : "&retried=false";
  try {
    const [queue, running, failed, letters] = await Promise.all([
      api("/admin/queue"),
      api("/admin/jobs?state=running&limit=50"),
      api("/admin/jobs?state=failed&limit=50"),
      api(`/admin/dead-letters?limit=50${retried}`),
    ]);
    renderQueue(queue);
    renderJobs($("running-jobs"), running.jobs, "No job is running.");
    renderJobs($("failed-jobs"), failed.jobs, "No job has failed.");
    renderLetters(letters.deadLetters);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (session) showMessage(error.message);
  }
}

function renderQueue(queue) {
  const stream = queue.stream || {};
  const items = [
    ["Queue", queue.backend === "redis" ? `Redis stream ${stream.name}` : "in process"],
  ];
  if (queue.backend === "redis") {
    items.push(["Messages in stream", stream.length ?? "?"]);
    items.push(["Unacknowledged", stream.pending ?? "?"]);
    items.push(["Not yet read", stream.lag ?? "?"]);
    items.push(["Worker consumers", (stream.consumers || []).length]);
  } else {
    items.push(["Running here", queue.inProcess.running]);
  }
  items.push(["Tasks in outbox", queue.outbox.total]);
  items.push(["Tasks waiting for a retry", queue.outbox.retrying]);
  for (const [state, count] of Object.entries(queue.jobs)) items.push([`Jobs ${state}`, count]);
  items.push(["Dead letters not retried", queue.deadLetters.open]);

  const summary = $("summary");
  summary.replaceChildren();
  for (const [label, value] of items) {
    const item = document.createElement("div");
    const term = document.createElement("dt");
    const detail = document.createElement("dd");
    term.textContent = label;
    detail.textContent = String(value);
    item.append(term, detail);
    summary.append(item);
  }
  const inProcess = queue.backend !== "redis";
  $("in-process-note").hidden = !inProcess;
  $("consumers").hidden = inProcess;
  $("pending").hidden = inProcess;

  const streamError = $("stream-error");
  streamError.textContent = stream.error || "";
  streamError.hidden = !stream.error;

  renderTable($("consumers"), ["Consumer", "Unacknowledged", "Idle"], stream.consumers || [],
    (row) => [row.name, row.pending, duration(row.idleMs)], "No worker has read the stream.");
  renderTable(
    $("pending"),
    ["Task", "Task id", "Consumer", "Since delivery", "Deliveries"],
    stream.pendingMessages || [],
    (row) => [row.taskName, row.taskId, row.consumer, duration(row.idleMs), row.deliveries],
    "No message is waiting for an acknowledgement.",
  );
  renderTable(
    $("retrying-tasks"),
    ["Task", "Task id", "Job", "Attempts", "Next attempt", "Last error"],
    queue.retryingTasks,
    (row) => [row.taskName, row.taskId, row.jobId || "", row.attempts,
      when(row.nextAttemptAt), errorCell(row.error)],
    "No task is waiting for a retry.",
  );
}

function renderJobs(table, jobs, empty) {
  renderTable(table, ["Job", "Kind", "User", "Attempts", "Progress", "Updated", "Error"], jobs,
    (job) => [job.id, job.kind, job.userId, job.attempts, `${Math.round(job.progress * 100)} %`,
      when(job.updatedAt), errorCell(job.error)], empty);
}

function renderLetters(letters) {
  renderTable(
    $("dead-letters"),
    ["Id", "Task", "Job", "Attempts", "Failed", "Error", "Retried", ""],
    letters,
    (letter) => [letter.id, letter.taskName, letter.jobId || "", letter.attempts,
      when(letter.failedAt), errorCell(letter.error),
      letter.retriedAt ? when(letter.retriedAt) : "", retryButton(letter)],
    "No dead letter.",
  );
}

function retryButton(letter) {
  if (letter.retriedAt) return "";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Retry";
  button.dataset.testid = "retry";
  button.setAttribute("aria-label", `Retry dead letter ${letter.id}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const reply = await api(`/admin/dead-letters/${letter.id}/retry`, { method: "POST" });
      const job = reply.job ? `; job ${reply.job.id} is ${reply.job.state}` : "";
      showMessage(`Dead letter ${letter.id} (${letter.taskName}) sent again${job}.`, "info");
      await load();
    } catch (error) {
      showMessage(error.message);
      button.disabled = false;
    }
  });
  return button;
}

function renderTable(table, headings, rows, cells, empty) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const heading of headings) {
    const cell = document.createElement("th");
    cell.textContent = heading;
    head.append(cell);
  }
  const body = table.createTBody();
  if (!rows.length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = headings.length;
    cell.className = "muted";
    cell.textContent = empty;
    return;
  }
  for (const row of rows) {
    const line = body.insertRow();
    for (const value of cells(row)) {
      const cell = line.insertCell();
      if (value instanceof Node) cell.append(value);
      else cell.textContent = value === null || value === undefined ? "" : String(value);
    }
  }
}

// Shows an error's first line, with the whole text (a traceback for dead letters) on demand.
function errorCell(text) {
  if (!text) return "";
  const lines = text.trim().split("\n");
  const last = lines[lines.length - 1];
  if (lines.length === 1) return last;
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = last;
  const full = document.createElement("pre");
  full.textContent = text;
  details.append(summary, full);
  return details;
}

function when(iso) {
  const time = new Date(iso);
  const seconds = Math.round((Date.now() - time.getTime()) / 1000);
  const text = seconds >= 0 ? `${duration(seconds * 1000)} ago` : `in ${duration(-seconds * 1000)}`;
  const element = document.createElement("time");
  element.dateTime = iso;
  element.title = iso;
  element.textContent = text;
  return element;
}

function duration(milliseconds) {
  const seconds = Math.round(milliseconds / 1000);
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

$("login-form").addEventListener("submit", logIn);
$("logout").addEventListener("click", () => logOut());
$("refresh").addEventListener("click", load);
$("show-retried").addEventListener("change", load);
if (session) start();
else $("login-view").hidden = false;
