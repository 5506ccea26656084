// Prefect Core 1.x schedules for the server (docs/v1-compatibility.md, Schedules): read the serialized Schedule a flow
// or flow group stores, list its next events, and name the runs they become. Shared by the mutations service
// (set_schedule_active, set_flow_group_schedule …) and the towel's scheduler loop.
export { clockEvents, cronParserExpression, isValidCron, type Clock, type ClockEvent, type CronClock, type DatesClock, type IntervalClock } from "./clocks.ts";
export {
  hasParametersOrLabels,
  idempotencyKey,
  nextEvents,
  parseClock,
  parseSchedule,
  ScheduleError,
  type Schedule,
  type ScheduleEvent,
} from "./schedule.ts";
export { findZone, formatWall, fromDate, isoUtc, isoUtcMicros, isValidZoneName, now, parseIso, toDate, toWall, type Instant } from "./time.ts";
