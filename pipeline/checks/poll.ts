// Bounded polling: every wait in the checks has a budget, so a check always ends.

export interface PollOptions<T> {
  /** Reads the current state. */
  read(): Promise<T>;
  /** Whether the state read is the one waited for. */
  done(value: T): boolean;
  /** Total time allowed; the first read happens at once, the last one when the budget is spent. */
  readonly budgetMs: number;
  /** Pause between reads. */
  readonly intervalMs: number;
}

export interface PollResult<T> {
  /** The last state read. */
  readonly value: T;
  readonly done: boolean;
  readonly reads: number;
  readonly elapsedMs: number;
}

export async function pollUntil<T>(options: PollOptions<T>): Promise<PollResult<T>> {
  const started = performance.now();
  let reads = 0;
  for (;;) {
    const value = await options.read();
    reads += 1;
    const elapsedMs = performance.now() - started;
    if (options.done(value)) return { value, done: true, reads, elapsedMs };
    if (elapsedMs >= options.budgetMs) return { value, done: false, reads, elapsedMs };
    // The last read happens when the budget ends, not an interval before.
    await sleep(Math.min(options.intervalMs, options.budgetMs - elapsedMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `1.2 s` */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
