// Process ids, shared by the test helpers and tests (no vitest imports: the vitest globalSetup uses them too).

/** Whether a process with this pid exists (signal 0; EPERM means it exists but is someone else's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
