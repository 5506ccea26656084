/**
 * Session settings of every service connection (the shared pool's and the data graph's). JIT compilation is off:
 * every statement the services send is an OLTP statement that runs in milliseconds, and Postgres decides to
 * JIT-compile from the planner's cost estimate, which a misestimated subquery easily pushes over jit_above_cost;
 * compiling with LLVM then takes longer (hundreds of ms with inlining) than the statement itself.
 */
export const SESSION_OPTIONS = "-c jit=off";

/**
 * A pool's `connectionString` and `options` with the session settings `settings` (`-c` flags) first and then the
 * `options` the URL gives, if any: those win for a setting both name, and the others stay. (pg lets a URL's
 * `options` replace the pool's `options` altogether, which would drop, say, the data graph's TimeZone=UTC.)
 */
export function withSessionOptions(connectionString: string, settings: string): { connectionString: string; options: string } {
  const url = new URL(connectionString);
  const given = url.searchParams.get("options");
  if (given === null) return { connectionString, options: settings };
  url.searchParams.delete("options");
  return { connectionString: url.toString(), options: `${settings} ${given}` };
}
