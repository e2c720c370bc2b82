/**
 * SIGINT/SIGTERM (and `--for`, when `afterSeconds` is given) as an AbortSignal for the length of one
 * command: the work checks it between steps and ends cleanly; `dispose` removes the listeners.
 */
export function stopSignals(afterSeconds?: number): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (name: NodeJS.Signals) => controller.abort(name);
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, stop);
  if (afterSeconds !== undefined) setTimeout(() => controller.abort('--for'), afterSeconds * 1000).unref();
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of ['SIGINT', 'SIGTERM'] as const) process.removeListener(name, stop);
    },
  };
}
