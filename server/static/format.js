// Text shown for sets, units, records and durations.

export const UNITS = {
  weight: ["kg", "lb", "g"],
  time: ["seconds", "minutes"],
  distance: ["km", "m", "mi"],
};

const UNIT_SHORT = { seconds: "s", minutes: "min" };

const RECORD_KINDS = {
  max_load: "Heaviest load",
  best_e1rm: "Best estimated 1RM",
  max_set_volume: "Biggest set volume",
  max_workout_volume: "Biggest workout volume",
  max_reps: "Most reps",
};

export function formatNumber(value) {
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(value);
}

export function unitLabel(unit) {
  return UNIT_SHORT[unit] ?? unit;
}

// "100 kg × 5", or "12 reps" for a set without a value such as a bodyweight set.
export function setText(set, unit) {
  const reps = `${formatNumber(set.reps)} ${set.reps === 1 ? "rep" : "reps"}`;
  if (set.value === null || set.value === undefined) {
    return reps;
  }
  return `${formatNumber(set.value)} ${unitLabel(unit)} × ${formatNumber(set.reps)}`;
}

export function recordKindText(kind) {
  return RECORD_KINDS[kind] ?? kind.replaceAll("_", " ");
}

// The value of a `record:achieved` event: "110 kg", or "12 reps at 80 kg" for max_reps.
export function recordValueText(record) {
  const value = `${formatNumber(record.value)} ${unitLabel(record.unit)}`;
  if (record.kind === "max_reps" && record.load !== null && record.load !== undefined) {
    return `${value} at ${formatNumber(record.load)} ${unitLabel(record.loadUnit ?? "kg")}`;
  }
  return value;
}

// "1:05" for 65 seconds.
export function clockText(totalSeconds) {
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return `${minutes}:${String(seconds).padStart(2, "0")}`;
}

export function timeText(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
}

export function dateTimeText(iso) {
  return new Date(iso).toLocaleString(undefined, {
    weekday: "short",
    hour: "numeric",
    minute: "2-digit",
  });
}
