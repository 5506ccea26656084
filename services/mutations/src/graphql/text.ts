// NUL characters (\u0000) in arguments: Postgres stores none in text or jsonb, so v1's data never held one. Texts that
// running flows write (log lines, state payloads, artifacts) lose them, so that a task printing binary output still
// gets its logs and states stored; anywhere else (names, labels, parameters, definitions a user sends) the request is
// refused with a message naming the field. docs/security.md lists both.
import type { GraphQLFieldResolver } from "graphql";
import { ApiError } from "../../../domain/src/errors.ts";
import { describePath, removeNul, type ValuePath } from "../../../domain/src/inputs.ts";

/** Per root field, where NUL characters are removed (paths start at the field's arguments: `input.logs…`). */
const STRIPPED: Readonly<Record<string, (path: ValuePath) => boolean>> = {
  write_run_logs: (path) => path[1] === "logs",
  set_flow_run_states: (path) => path[1] === "states" && path[3] === "state",
  set_task_run_states: (path) => path[1] === "states" && path[3] === "state",
  create_task_run_artifact: (path) => path[1] === "data",
  update_task_run_artifact: (path) => path[1] === "data",
};

const nothingStripped = () => false;

/** `resolve` with its arguments cleared of NUL characters first (or refused). */
export function refusingNul<T extends GraphQLFieldResolver<unknown, unknown>>(field: string, resolve: T): T {
  const strippable = STRIPPED[field] ?? nothingStripped;
  return ((parent, args, context, info) => {
    const path = removeNul(args, strippable);
    if (path) throw new ApiError(`${describePath(path)} contains a NUL character (\\u0000), which cannot be stored: remove it.`);
    return resolve(parent, args, context, info);
  }) as T;
}
