// Polling in tests: wait for a condition on something that changes by itself (a tunnel coming up, a
// row written back), with a deadline that names what did not happen.

/** Polls `fn` every `stepMs` until it returns something other than undefined or false; throws after `timeoutMs` naming `what`. */
export async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
