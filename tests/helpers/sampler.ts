// Sampling a count while something runs (how many runs are Running during a race): the largest value seen of each
// field, and how many samples were taken. Loopback database queries only; stops when told.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Sampler<K extends string> {
  /** Stops sampling (after the sample in progress); the largest value of each field and the number of samples. */
  stop(): Promise<{ most: Record<K, number>; samples: number }>;
}

/** Calls `probe` every `intervalMs` until stopped, keeping the largest value of each field it returns. */
export function startSampler<K extends string>(probe: () => Promise<Record<K, number>>, intervalMs = 1): Sampler<K> {
  let stopped = false;
  const most = {} as Record<K, number>;
  let samples = 0;
  const loop = (async () => {
    while (!stopped) {
      const values = await probe();
      for (const [key, value] of Object.entries(values) as [K, number][]) most[key] = Math.max(most[key] ?? 0, value);
      samples += 1;
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { most, samples };
    },
  };
}

/**
 * The most runs running at once in a history of Running and finished states in the order they were written (each
 * Running adds one, each other state ends one): what a sampler may have missed between two samples.
 */
export function peakRunning(history: readonly { state: string }[]): number {
  let running = 0;
  let peak = 0;
  for (const { state } of history) {
    running += state === "Running" ? 1 : -1;
    peak = Math.max(peak, running);
  }
  return peak;
}
