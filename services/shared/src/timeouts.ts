// Bounded waits: a promise given up after a time (the work itself keeps running; Node cannot cancel it).

class Timeout extends Error {
  override name = "TimeoutError";
}

/** `work`'s outcome, or a rejection `<what> did not finish within <ms> ms` once `ms` have passed. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** Whether `work` settles (fulfilled or rejected) within `ms`. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(work.then(() => undefined, () => undefined), ms, "work");
    return true;
  } catch {
    return false;
  }
}
