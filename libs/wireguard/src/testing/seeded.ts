// Helpers for tests (@porthole/wireguard/testing): hex codecs and a seeded PRNG whose seed is
// printed, so a failing randomised test can be replayed with WG_TEST_SEED=<n>.

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

export function unhex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** mulberry32: small, fast, good enough to drive test inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes from a seeded PRNG. */
export function seededBytes(rand: () => number): (n: number) => Uint8Array {
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
    return out;
  };
}

/** A seed from WG_TEST_SEED or a fresh one, printed with the test's name. */
export function testSeed(name: string): number {
  const fromEnv = process.env.WG_TEST_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  console.log(`${name}: seed ${seed} (replay with WG_TEST_SEED=${seed})`);
  return seed;
}
