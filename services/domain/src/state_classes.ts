// The Prefect Core 1.x state classes the server reasons about (docs/v1-compatibility.md, Core's state classes): their
// hierarchy, colours and the derived sets used by the queue, the state mutations and the towel loops, and the defaults
// Core's state constructors fill in when a state is deserialised. A state is classified by its class name (the `type`
// of a serialized state, the `state` column of a run).
import { isoUtc, now } from "./schedules/time.ts";
import { isObject } from "./inputs.ts";

/** Every state class with its direct parent (`null` for the root). Order is the order of Core's definitions. */
const PARENT: Readonly<Record<string, string | null>> = {
  State: null,
  _MetaState: "State",
  Pending: "State",
  Scheduled: "Pending",
  Paused: "Scheduled",
  Resume: "Scheduled",
  Retrying: "Scheduled",
  Submitted: "_MetaState",
  Queued: "_MetaState",
  ClientFailed: "_MetaState",
  Running: "State",
  Cancelling: "Running",
  Finished: "State",
  Success: "Finished",
  Cached: "Success",
  Mapped: "Success",
  Skipped: "Success",
  Failed: "Finished",
  TimedOut: "Failed",
  TriggerFailed: "Failed",
  ValidationFailed: "Failed",
  Cancelled: "Finished",
  Looped: "Finished",
};

const COLOR: Readonly<Record<string, string>> = {
  State: "#696969",
  _MetaState: "#696969",
  Pending: "#7ebdff",
  Scheduled: "#ffab00",
  Paused: "#99a8e8",
  Resume: "#f58c0c",
  Retrying: "#f66a0a",
  Submitted: "#ffdf5d",
  Queued: "#ffea7f",
  ClientFailed: "#eb0000",
  Running: "#3d67ff",
  Cancelling: "#E8E8E8",
  Finished: "#003ccb",
  Success: "#28a745",
  Cached: "#34d058",
  Mapped: "#003ccb",
  Skipped: "#62757f",
  Failed: "#eb0000",
  TimedOut: "#ff4e33",
  TriggerFailed: "#ff5131",
  ValidationFailed: "#ff5131",
  Cancelled: "#bdbdbd",
  Looped: "#003ccb",
};

/** The names of every known state class. */
export const STATE_NAMES: readonly string[] = Object.keys(PARENT);

export function isStateName(name: unknown): name is string {
  return typeof name === "string" && Object.hasOwn(PARENT, name);
}

/** True when `name` is `ancestor` or one of its subclasses. Unknown names are subclasses of nothing. */
export function isSubclassOf(name: string | null | undefined, ancestor: string): boolean {
  let current: string | null | undefined = name;
  while (current != null && Object.hasOwn(PARENT, current)) {
    if (current === ancestor) return true;
    current = PARENT[current];
  }
  return false;
}

/** `name` followed by all its subclasses, depth first in definition order. */
function withSubclasses(name: string): string[] {
  return [name, ...STATE_NAMES.filter((child) => PARENT[child] === name).flatMap(withSubclasses)];
}

/** `reference_data.state_hierarchy`: every class name → itself and all its subclasses. */
export const STATE_HIERARCHY: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  STATE_NAMES.map((name) => [name, withSubclasses(name)]),
);

/** `reference_data.state_info`: every class name → `{color}`. */
export const STATE_INFO: Readonly<Record<string, { color: string }>> = Object.fromEntries(
  STATE_NAMES.map((name) => [name, { color: COLOR[name]! }]),
);

/** States whose runs are waiting for a start time: the queue picks them up once it has passed. */
export const SCHEDULED_STATES: readonly string[] = ["Scheduled", "Paused", "Resume", "Retrying", "Queued"];
/** Running and its subclass Cancelling. */
export const RUNNING_STATES: readonly string[] = STATE_HIERARCHY.Running!;
/** Finished and every subclass. */
export const FINISHED_STATES: readonly string[] = STATE_HIERARCHY.Finished!;
/** The task-run states that keep Lazarus away from a flow run. */
export const ACTIVE_TASK_STATES: readonly string[] = ["Scheduled", "Paused", "Resume", "Retrying", "Running", "Cancelling"];
/** The exact state names whose insertion sets a run's end_time (the database triggers use the same list). */
export const END_TIME_STATES: readonly string[] = ["Success", "Failed", "Cached", "TimedOut", "Looped", "Cancelled"];

/**
 * States as SQL literals (`'Scheduled', 'Paused'`), for a statement that names them in its text rather than as a
 * parameter, so that the planner can match a partial index's predicate over exactly these states.
 */
export const stateListSql = (states: readonly string[]): string => states.map((state) => `'${state}'`).join(", ");

export const isRunning = (name: string | null | undefined): boolean => isSubclassOf(name, "Running");
export const isFinished = (name: string | null | undefined): boolean => isSubclassOf(name, "Finished");

/** A serialized Core state (StateSchema): at least `type`; everything else is kept as sent. */
export type SerializedState = Record<string, unknown> & { type: string };

/**
 * Whether Core's constructor gives a state of this class the current time when it has no start time: Scheduled and
 * its subclasses but Paused (which waits until someone acts), and Queued.
 */
export const startsNowByDefault = (name: string): boolean =>
  name === "Queued" || (isSubclassOf(name, "Scheduled") && !isSubclassOf(name, "Paused"));


/**
 * A serialized state as v1 stored it after loading it through Core's StateSchema, whose constructors fill in what a
 * bare state leaves out (docs/v1-compatibility.md, "States sent without their defaults"): `start_time` = `at` (UTC,
 * as Python prints it) where startsNowByDefault, `run_count` 1 for Retrying, `loop_count` 1 for Looped, and the same
 * for the state a meta state (Submitted, Queued, ClientFailed) wraps. Everything else is kept as sent; the input is
 * not changed. Unknown types are left alone (the caller refuses them).
 */
export function withStateDefaults(state: SerializedState, at: string = isoUtc(now())): SerializedState {
  let result = state;
  const set = (key: string, value: unknown) => {
    if (result === state) result = { ...state };
    result[key] = value;
  };
  if (state.start_time == null && startsNowByDefault(state.type)) set("start_time", at);
  if (state.type === "Retrying" && state.run_count == null) set("run_count", 1);
  if (state.type === "Looped" && state.loop_count == null) set("loop_count", 1);
  const inner = state.state;
  if (isSubclassOf(state.type, "_MetaState") && isObject(inner) && isStateName(inner.type)) {
    const defaulted = withStateDefaults(inner as SerializedState, at);
    if (defaulted !== inner) set("state", defaulted);
  }
  return result;
}
