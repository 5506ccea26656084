// Firing cloud hooks on flow-run state changes (docs/v1-compatibility.md, Cloud hooks).
//
// v1 looked the hooks up and sent them from a fire-and-forget coroutine after each state write: lost on a crash,
// never retried. Ours:
// 1. every statement that writes flow-run states (set_flow_run_states, cancel, run creation's Scheduled state, the
//    towel's Lazarus and ZombieKiller) also tells, in the same statement, which of its new state rows some active
//    hook matches (`cloudHookMatchSql`); with no hooks that costs one index probe and no round trip;
// 2. once the write is committed (`fireCloudHooks` → afterCommit), the dispatcher builds the v1 event of each such
//    state row with one query and adds one BullMQ job per (event, hook) to the `cloud-hooks` queue, job id
//    `<event id>.<hook id>`: the event id is the state row's id, so adding the same delivery again (a retried
//    enqueue) is a no-op;
// 3. the delivery worker (cloud_hooks.ts, run by the towel) sends it, with attempts and exponential backoff.
// The enqueue never makes a state write fail or hang: the producer fails fast and every failure is logged.
import { afterCommit, type Pool, type PoolClient } from "../../../shared/src/database/pool.ts";
import type { Logger } from "../../../shared/src/logger.ts";
import type { JobProducer } from "../../../shared/src/queues.ts";
import { type Json } from "../inputs.ts";

type Queryable = Pool | PoolClient;

/** The queue the deliveries go through (the backend adds queue.prefix). */
export const CLOUD_HOOK_QUEUE = "cloud-hooks";
/** The name of every delivery job. */
export const CLOUD_HOOK_JOB = "deliver";
/** Attempts per delivery (the first included), and the first retry delay (doubling each time: 1, 2, 4, 8 s). */
export const CLOUD_HOOK_ATTEMPTS = 5;
export const CLOUD_HOOK_BACKOFF_MS = 1_000;
/** Delivered jobs are kept a day, so that enqueueing the same delivery again within a day stays a no-op. */
const KEEP_DELIVERED_SECONDS = 86_400;
const KEEP_FAILED_DELIVERIES = 1_000;


/** v1's FlowRunStateChange event. */
export interface CloudHookEvent extends Json {
  id: string;
  timestamp: string;
  type: "FlowRunStateChange";
  flow_run: { id: string; state: string | null; name: string | null; version: number; flow: CloudHookFlow; tenant: CloudHookTenant };
  state: Json & { state: string; message?: string | null };
  flow: CloudHookFlow;
  tenant: CloudHookTenant;
  is_test_event: boolean;
}

export interface CloudHookFlow extends Json {
  id: string;
  name: string;
  flow_group_id: string | null;
  version_group_id: string | null;
}

export interface CloudHookTenant extends Json {
  id: string;
  slug: string;
}

/** What a delivery job carries: the event and the hook's id (the hook's type and config are read at delivery). */
export interface CloudHookJobData extends Json {
  event: CloudHookEvent;
  hook_id: string;
}

/**
 * SQL condition on a cloud hook `h`: it is active, of the run's tenant, its `states` hold the new state's name
 * uppercased (that exact state, not its parents or children) and its version group is the flow's or unset.
 */
const hookMatchesSql = (stateSql: string, tenantSql: string, versionGroupSql: string): string =>
  `h.tenant_id = ${tenantSql} AND h.active AND h.states ? upper(${stateSql})
    AND (h.version_group_id IS NULL OR h.version_group_id = ${versionGroupSql})`;

/** SQL condition: some cloud hook matches a new flow-run state (for the statements that write states). */
export const cloudHookMatchSql = (stateSql: string, tenantSql: string, versionGroupSql: string): string =>
  `EXISTS (SELECT 1 FROM cloud_hook h WHERE ${hookMatchesSql(stateSql, tenantSql, versionGroupSql)})`;

const iso = (expression: string) => `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')`;

// The event of each listed state row, once per hook that matches it now. The run's previous state and version are
// those of the state row before this one.
const EVENTS_SQL = `
SELECT h.id::text AS hook_id, jsonb_build_object(
  'id', s.id, 'timestamp', ${iso("s.timestamp")}, 'type', 'FlowRunStateChange',
  'flow_run', jsonb_build_object('id', fr.id, 'state', prev.state, 'name', fr.name, 'version', s.version - 1,
                                 'flow', flow.obj, 'tenant', tenant.obj),
  'state', jsonb_build_object('id', s.id, 'flow_run_id', s.flow_run_id, 'version', s.version, 'state', s.state,
                              'timestamp', ${iso("s.timestamp")}, 'message', s.message, 'result', s.result,
                              'start_time', ${iso("s.start_time")}, 'serialized_state', s.serialized_state),
  'flow', flow.obj, 'tenant', tenant.obj, 'is_test_event', false) AS event
FROM flow_run_state s
JOIN flow_run fr ON fr.id = s.flow_run_id
JOIN flow f ON f.id = fr.flow_id
JOIN tenant t ON t.id = fr.tenant_id
CROSS JOIN LATERAL (SELECT jsonb_build_object('id', f.id, 'name', f.name, 'flow_group_id', f.flow_group_id,
                                              'version_group_id', f.version_group_id) AS obj) flow
CROSS JOIN LATERAL (SELECT jsonb_build_object('id', t.id, 'slug', t.slug) AS obj) tenant
LEFT JOIN LATERAL (SELECT p.state FROM flow_run_state p WHERE p.flow_run_id = s.flow_run_id AND p.version < s.version
                   ORDER BY p.version DESC LIMIT 1) prev ON true
JOIN cloud_hook h ON ${hookMatchesSql("s.state", "fr.tenant_id", "f.version_group_id")}
WHERE s.id = ANY($1::uuid[])
ORDER BY s.timestamp, s.id, h.id`;

/** Where the state writers hand the state rows that matched a hook. */
export interface CloudHooks {
  /** Enqueues the deliveries of these committed state rows. Never throws; failures are logged. */
  fire(stateIds: string[]): Promise<void>;
}

/**
 * Fires the hooks of state rows `db` just wrote, once they are committed (see afterCommit). Nulls (rows no hook
 * matched) are skipped; without hooks or rows nothing happens.
 */
export async function fireCloudHooks(db: Queryable, hooks: CloudHooks | undefined, stateIds: readonly (string | null | undefined)[]): Promise<void> {
  const ids = stateIds.filter((id): id is string => typeof id === "string");
  if (!hooks || ids.length === 0) return;
  await afterCommit(db, () => hooks.fire(ids));
}

/** The BullMQ job id of one delivery (BullMQ refuses `:` in custom ids). */
export const deliveryJobId = (eventId: string, hookId: string): string => `${eventId}.${hookId}`;

export interface CloudHookDispatcherOptions {
  db: Pool;
  producer: JobProducer;
  log: Logger;
  attempts?: number;
  backoffMs?: number;
}

export interface CloudHookDispatcher extends CloudHooks {
  /** Resolves when every fire() started so far has finished. */
  idle(): Promise<void>;
  /** Waits for the fires in progress, then closes the producer. */
  close(): Promise<void>;
}

/** Builds the events of committed state rows and enqueues one delivery per (event, hook). */
export function createCloudHookDispatcher(options: CloudHookDispatcherOptions): CloudHookDispatcher {
  const { db, producer, log } = options;
  const running = new Set<Promise<void>>();
  const enqueue = async (stateIds: string[]): Promise<void> => {
    let rows: { hook_id: string; event: CloudHookEvent }[];
    try {
      ({ rows } = await db.query<{ hook_id: string; event: CloudHookEvent }>({ name: "mutations.cloud_hook_events", text: EVENTS_SQL, values: [stateIds] }));
    } catch (error) {
      log.error({ err: error, state_ids: stateIds }, `Could not read the cloud hook events of ${stateIds.length} flow run states: ${(error as Error).message}`);
      return;
    }
    await Promise.all(
      rows.map(async ({ hook_id, event }) => {
        const jobId = deliveryJobId(event.id, hook_id);
        try {
          await producer.add(CLOUD_HOOK_JOB, { event, hook_id } satisfies CloudHookJobData, {
            jobId,
            attempts: options.attempts ?? CLOUD_HOOK_ATTEMPTS,
            backoffMs: options.backoffMs ?? CLOUD_HOOK_BACKOFF_MS,
            keepCompletedSeconds: KEEP_DELIVERED_SECONDS,
            keepFailed: KEEP_FAILED_DELIVERIES,
          });
        } catch (error) {
          log.error(
            { err: error, cloud_hook_id: hook_id, event_id: event.id, flow_run_id: event.flow_run.id },
            `Could not enqueue cloud hook ${hook_id} for flow run ${event.flow_run.id} (${event.state.state}); the state change itself is saved: ${(error as Error).message}`,
          );
        }
      }),
    );
  };
  return {
    fire(stateIds) {
      const work = enqueue(stateIds);
      running.add(work);
      void work.finally(() => running.delete(work));
      return work;
    },
    async idle() {
      await Promise.all([...running]);
    },
    async close() {
      await Promise.all([...running]);
      await producer.close();
    },
  };
}
