/**
 * SIGINT/SIGTERM as an AbortSignal for the length of one command: the work
 * checks it between steps and ends cleanly; `dispose` removes the listeners.
 */
export function stopSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (name: NodeJS.Signals) => controller.abort(name);
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, stop);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of ['SIGINT', 'SIGTERM'] as const) process.removeListener(name, stop);
    },
  };
}
