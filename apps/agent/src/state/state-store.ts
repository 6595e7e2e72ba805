// The agent's persistent state in one JSON file (mode 0600: it holds the private key), replaced
// atomically on every change (see atomic-file.ts). Loading validates the whole document; a state
// that fails validation is reported, never silently replaced (that would lose the device's key).
import { mkdirSync, readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RegistrationSchema, type Registration } from '@porthole/api-contract';
import { encodeKey, generatePrivateKey } from '@porthole/wireguard';
import { networkSchema } from '../transport/network-settings.js';
import { removeStaleTempFiles, writeFileAtomicSync } from './atomic-file.js';

export const STATE_FILE = 'state.json';

const stateSchema = z.object({
  version: z.literal(1),
  privateKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
  /** The owner wants remote access on (survives reboots); Disable clears only this and the session. */
  enabled: z.boolean(),
  registration: RegistrationSchema.nullable(),
  /** Target origin → SHA-256 fingerprint of its pinned leaf certificate ("AB:CD:…"). */
  pins: z.record(z.string(), z.string()),
  /** Target origin → a different certificate seen and refused, awaiting the owner's decision. */
  pendingPins: z.record(z.string(), z.object({ fingerprint: z.string(), seenAt: z.string() })),
  /** Last TAI64N handshake timestamp sent (24 hex chars), so reboots never go backwards. */
  lastTai64n: z.string().regex(/^[0-9a-f]{24}$/).nullable(),
  /** Free-form counter used by the crash test and for diagnostics: incremented on every write. */
  generation: z.number().int().nonnegative(),
  /** Proxy and transport set on the Remote access page; absent = the command line's. */
  network: networkSchema.optional(),
  /**
   * The owner's exposure window while remote access is on: `until` (ISO time) or null for "until
   * I turn it off". The agent closes access by itself when `until` passes, also after a restart.
   */
  exposure: z.object({ until: z.string().datetime().nullable(), setAt: z.string().datetime() }).optional(),
  /** When the last window ended (shown on the page until the next Enable). */
  exposureEndedAt: z.string().datetime().optional(),
  /**
   * A cluster's hub nodes (hub-endpoints.ts): every live node's WireGuard endpoint as the hub last
   * listed them, and the one the tunnel dials now, so a restart goes back to a node that worked.
   * Written with the registration when its answer lists the nodes; absent: the registration's own
   * list, else its `hub.endpoint` alone. Dropped with the registration.
   */
  hubEndpoints: z
    .object({
      endpoints: z.array(z.string().min(3).max(300)).min(1).max(64),
      current: z.string().min(3).max(300),
    })
    .optional(),
  /** The fleet policy the hub last sent over the control channel. */
  policy: z.object({ maxExposureHours: z.number().int().positive().nullable(), learnedAt: z.string().datetime() }).optional(),
});

export type AgentState = z.infer<typeof stateSchema>;

export class StateLoadError extends Error {}

export function freshState(): AgentState {
  return {
    version: 1,
    privateKey: encodeKey(generatePrivateKey()),
    enabled: false,
    registration: null,
    pins: {},
    pendingPins: {},
    lastTai64n: null,
    generation: 0,
  };
}

/** Parses a state file's text; throws StateLoadError naming what is wrong. */
export function parseState(text: string): AgentState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StateLoadError(`state file is not valid JSON (${(err as Error).message})`);
  }
  const result = stateSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new StateLoadError(`state file field "${issue.path.join('.')}": ${issue.message}`);
  }
  return result.data;
}

export class StateStore {
  readonly path: string;
  #state: AgentState;

  private constructor(path: string, state: AgentState) {
    this.path = path;
    this.#state = state;
  }

  /** Loads `<dir>/state.json`, creating the directory (0700) and a fresh state (new key) if absent. */
  static open(dir: string): StateStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, STATE_FILE);
    removeStaleTempFiles(path);
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      const store = new StateStore(path, freshState());
      store.#write();
      return store;
    }
    const store = new StateStore(path, parseState(text));
    // An older version or a hand copy may have left the file readable by others: it holds the key.
    chmodSync(path, 0o600);
    return store;
  }

  get state(): Readonly<AgentState> {
    return this.#state;
  }

  get registration(): Registration | null {
    return this.#state.registration;
  }

  /** Applies `mutate` to a copy and makes it durable before returning; on failure nothing changes. */
  update(mutate: (draft: AgentState) => void): void {
    const draft = structuredClone(this.#state);
    mutate(draft);
    draft.generation = this.#state.generation + 1;
    const checked = stateSchema.parse(draft);
    this.#write(checked);
    this.#state = checked;
  }

  #write(state: AgentState = this.#state): void {
    writeFileAtomicSync(this.path, `${JSON.stringify(state, null, 2)}\n`, 0o600);
  }
}
