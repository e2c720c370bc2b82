/** Fastest wall time of `runs` runs, in seconds: the least noisy figure on a shared machine. */
export function bestSeconds(runs: number, work: () => unknown): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    work();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest / 1000;
}

/** bestSeconds for work that returns a promise (the RL trainers yield to the event loop). */
export async function bestSecondsAsync(runs: number, work: () => Promise<unknown>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    await work();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest / 1000;
}
