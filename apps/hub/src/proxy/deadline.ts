// A bound on how long the proxy waits for the registry: a database that is down but slow to say so
// must not hold visitors' requests (the caller then serves a recent answer or fails closed).

/** `work`, or a rejection after `ms`. The timer never keeps the process alive; `work` is not cancelled. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  // A rejection of `work` after the deadline has nobody listening: keep it from being unhandled.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
