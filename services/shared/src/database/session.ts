/**
 * Session settings of every service connection (the shared pool's and the data graph's). JIT compilation is off: every statement the services send is an
 * OLTP statement that runs in milliseconds, and Postgres decides to JIT-compile from the planner's cost estimate,
 * which a misestimated subquery easily pushes over jit_above_cost; compiling with LLVM then takes longer (hundreds of
 * ms with inlining) than the statement itself. `options` in the connection URL (`?options=-c%20jit%3Don`) overrides
 * these, as pg lets the URL's parameters win.
 */
export const SESSION_OPTIONS = "-c jit=off";
