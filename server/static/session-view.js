// The open live session: its state as the server last reported it, and the screen that shows
// its exercises, sets, rest timer and new records.

import { serverNow } from "./api.js";
import {
  clockText,
  dateTimeText,
  recordKindText,
  recordValueText,
  setText,
  timeText,
  unitLabel,
} from "./format.js";

const RECORD_BANNER_MS = 6000;
const FRESH_SET_MS = 2000;
const TIMER_TICK_MS = 250;

// The server's rule for "the same exercise": Unicode NFKC, trimmed, case-folded, single spaces.
// NOTE: toLowerCase stands in for case folding, which differs for a few letters such as ß.
export function exerciseKey(name) {
  return name.normalize("NFKC").trim().toLowerCase().replace(/\s+/g, " ");
}

function compareSets(a, b) {
  const byTime = (a.performedAt ?? "").localeCompare(b.performedAt ?? "");
  if (byTime !== 0) {
    return byTime;
  }
  // Ids are decimal strings of up to 19 digits, too long for a Number.
  return a.id.length - b.id.length || a.id.localeCompare(b.id);
}

export class SessionView {
  // onEdit(set, exercise) and onDelete(set, exercise) run when their buttons are pressed.
  constructor({ onEdit, onDelete }) {
    this.session = null;
    this.freshClientIds = new Set();
    this.timerInterval = null;
    this.recordTimeout = null;
    this.records = new Map();
    this.root = document.getElementById("session-view");
    this.title = document.getElementById("session-title");
    this.started = document.getElementById("session-started");
    this.list = document.getElementById("exercise-list");
    this.empty = document.getElementById("exercise-list-empty");
    this.names = document.getElementById("exercise-names");
    this.timer = document.getElementById("timer-remaining");
    this.banner = document.getElementById("record-banner");

    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button === null) {
        return;
      }
      const found = this.findSet(button.closest("[data-client-id]").dataset.clientId);
      if (found === null) {
        return;
      }
      const handler = button.dataset.action === "edit" ? onEdit : onDelete;
      handler(found.set, found.exercise);
    });
  }

  get id() {
    return this.session?.id ?? null;
  }

  show(session) {
    this.session = session;
    this.root.dataset.sessionId = session.id;
    this.title.textContent = session.category?.name ?? "Workout";
    this.started.textContent = `Started ${dateTimeText(session.createdAt)}`;
    this.render();
    this.setTimer(session.timer);
  }

  clear() {
    this.session = null;
    delete this.root.dataset.sessionId;
    this.setTimer(null);
    this.hideRecords();
    this.list.replaceChildren();
  }

  // Add a set from a write reply or a set event, or replace the one with its clientId.
  applySet(set, { fresh = false } = {}) {
    if (this.session === null) {
      return;
    }
    let exercise = this.session.exercises.find((item) => item.id === set.exercise.id);
    if (exercise === undefined) {
      exercise = { ...set.exercise, setsDetail: [] };
      this.session.exercises.push(exercise);
    }
    for (const item of this.session.exercises) {
      item.setsDetail = item.setsDetail.filter((row) => row.clientId !== set.clientId);
    }
    const { exercise: _, ...row } = set;
    exercise.setsDetail.push(row);
    if (fresh) {
      this.markFresh(set.clientId);
    }
    this.render();
  }

  removeSet(clientId) {
    if (this.session === null) {
      return;
    }
    for (const item of this.session.exercises) {
      item.setsDetail = item.setsDetail.filter((row) => row.clientId !== clientId);
    }
    // The server drops an exercise together with its last set.
    this.session.exercises = this.session.exercises.filter((item) => item.setsDetail.length > 0);
    this.render();
  }

  findSet(clientId) {
    for (const exercise of this.session?.exercises ?? []) {
      const set = exercise.setsDetail.find((row) => row.clientId === clientId);
      if (set !== undefined) {
        return { set, exercise };
      }
    }
    return null;
  }

  findExercise(name) {
    const key = exerciseKey(name);
    return this.session?.exercises.find((item) => exerciseKey(item.name) === key) ?? null;
  }

  markFresh(clientId) {
    this.freshClientIds.add(clientId);
    setTimeout(() => {
      this.freshClientIds.delete(clientId);
      this.list.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`)
        ?.classList.remove("fresh");
    }, FRESH_SET_MS);
  }

  render() {
    const exercises = [...(this.session?.exercises ?? [])].sort((a, b) => a.order - b.order);
    this.list.replaceChildren(...exercises.map((exercise) => this.renderExercise(exercise)));
    this.empty.hidden = exercises.length > 0;
    this.names.replaceChildren(
      ...(this.session?.exercises ?? []).map((exercise) => new Option("", exercise.name)),
    );
  }

  renderExercise(exercise) {
    const item = element("li", "exercise");
    item.dataset.testid = "exercise";
    item.dataset.exerciseId = exercise.id;
    const heading = element("h4", "exercise-name", exercise.name);
    heading.append(element("span", "exercise-unit", unitLabel(exercise.unit)));
    const sets = element("ol", "sets");
    const rows = [...exercise.setsDetail].sort(compareSets);
    sets.append(...rows.map((set, index) => this.renderSet(set, index + 1, exercise)));
    item.append(heading, sets);
    return item;
  }

  renderSet(set, number, exercise) {
    const row = element("li", "set");
    row.dataset.testid = "set";
    row.dataset.clientId = set.clientId;
    if (this.freshClientIds.has(set.clientId)) {
      row.classList.add("fresh");
    }
    const text = element("span", "set-text", setText(set, exercise.unit));
    text.dataset.testid = "set-text";
    const details = element("span", "set-details");
    details.append(text);
    if (set.performedAt) {
      details.append(element("span", "set-time", timeText(set.performedAt)));
    }
    row.append(
      element("span", "set-number", String(number)),
      details,
      actionButton("edit", "Edit", `Edit set ${number} of ${exercise.name}`),
      actionButton("delete", "Delete", `Delete set ${number} of ${exercise.name}`),
    );
    return row;
  }

  // Show the rest timer that ends at timer.endsAt by the server's clock, or none.
  setTimer(timer) {
    clearInterval(this.timerInterval);
    this.timerInterval = null;
    const endsAt = timer?.endsAt ? Date.parse(timer.endsAt) : null;
    if (endsAt === null) {
      this.timer.dataset.state = "stopped";
      delete this.timer.dataset.remaining;
      this.timer.textContent = "Not running";
      return;
    }
    const tick = () => {
      const remaining = Math.max(0, Math.ceil((endsAt - serverNow()) / 1000));
      this.timer.dataset.remaining = String(remaining);
      if (remaining > 0) {
        this.timer.dataset.state = "running";
        this.timer.textContent = clockText(remaining);
        return;
      }
      this.timer.dataset.state = "done";
      this.timer.textContent = "Rest over";
      clearInterval(this.timerInterval);
      this.timerInterval = null;
    };
    tick();
    if (this.timer.dataset.state === "running") {
      this.timerInterval = setInterval(tick, TIMER_TICK_MS);
    }
  }

  // Add a `record:achieved` event to the banner, which hides a while after the last one.
  showRecord(record) {
    this.records.set(`${record.nameKey}/${record.kind}`, record);
    const groups = new Map();
    for (const item of this.records.values()) {
      if (!groups.has(item.nameKey)) {
        groups.set(item.nameKey, { exercise: item.exercise, records: [] });
      }
      groups.get(item.nameKey).records.push(item);
    }
    const count = this.records.size;
    const heading = element("p", "record-heading", count === 1 ? "New record" : "New records");
    const close = element("button", "quiet small record-close", "Close");
    close.type = "button";
    close.addEventListener("click", () => this.hideRecords());
    const list = element("div", "record-groups");
    for (const group of groups.values()) {
      const rows = element("ul", "record-list");
      rows.append(...group.records.map(recordRow));
      list.append(element("p", "record-exercise", group.exercise), rows);
    }
    this.banner.replaceChildren(heading, close, list);
    this.banner.hidden = false;
    clearTimeout(this.recordTimeout);
    this.recordTimeout = setTimeout(() => this.hideRecords(), RECORD_BANNER_MS);
  }

  hideRecords() {
    clearTimeout(this.recordTimeout);
    this.records.clear();
    this.banner.hidden = true;
    this.banner.replaceChildren();
  }
}

function element(tag, className, text = null) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== null) {
    node.textContent = text;
  }
  return node;
}

function recordRow(record) {
  const row = element("li", "record");
  row.dataset.kind = record.kind;
  row.dataset.testid = "record";
  row.append(
    element("span", "record-kind", recordKindText(record.kind)),
    element("span", "record-value", recordValueText(record)),
  );
  return row;
}

function actionButton(action, label, description) {
  const button = element("button", `quiet small ${action}`, label);
  button.type = "button";
  button.dataset.action = action;
  button.dataset.testid = `set-${action}`;
  button.setAttribute("aria-label", description);
  return button;
}
