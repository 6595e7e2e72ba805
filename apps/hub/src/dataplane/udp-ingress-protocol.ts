// What the UDP ingress thread and the hub's main thread say to each other (udp-ingress.ts): one
// message per batch of datagrams, their bytes back to back in one transferred ArrayBuffer (no
// copy on the way), each datagram's length and peer port in a transferred Uint32Array, its peer
// address in a string array. Counters live in a SharedArrayBuffer the ingress thread writes and
// /metrics reads.
import { constants, DROP_REASONS, type DropReason, type Endpoint } from '@porthole/wireguard';

export interface IngressThreadData {
  port: number;
  host: string;
  publicKey: Uint8Array;
  counters: SharedArrayBuffer;
  /** SO_REUSEADDR on the socket, so the main thread's peer sockets (peer-sockets.ts) can share the port. */
  reuseAddr: boolean;
  /** How long keepalives and initiations may wait for company before they are passed on (holdFor). */
  holds: Holds;
  /** How long the thread rests after a quiet turn (QUIET_REST_MS); 0: never. */
  quietRestMs: number;
  /** One Int32 the main thread notifies to end a rest early (it has data to send). */
  wake: SharedArrayBuffer;
}

/**
 * Keepalives (transport messages with no payload) wait up to this long on the ingress thread and
 * go to the main thread together, or with the next datagram that may not wait. One message per
 * keepalive cost ~30 µs of CPU (measured here: a worker posting 900 one-datagram batches a second
 * used 64 µs per post against 32-44 µs for the same timer without posting), and a fleet's idle
 * devices send little else: 30,000 of them send ~1,200 a second, 1,200 messages a second. A
 * keepalive carries nothing to deliver; what its arrival moves (the peer's last-received time, the
 * confirmation of a new session while the previous one still serves) can wait this long.
 */
export const KEEPALIVE_HOLD_MS = 50;

/**
 * Handshake messages that only start or answer a handshake wait up to this long to cross between
 * the threads together: initiations on their way in (rx, and from the peer sockets to the checks),
 * responses on their way out (tx). At 30,000 devices the fleet's rekeys (~240/s, each an
 * initiation in and a response out) crossed in ~480 messages a second, each costing ~50 µs of CPU
 * on the two threads together (measured here: a worker posting 500 one-datagram batches a second
 * to an idle main thread used 2.75% of a core more than the same timer without posting), about a
 * fifth of the hub's CPU at that scale. Held, they cross ~40 times a second each way. A rekey runs
 * while the previous session still carries data, and a device coming online waits a round trip
 * anyway: 2 x 20 ms more is not felt. What the hub waits for itself (a response to its own
 * initiation, a cookie reply) and data never wait, and take everything held with them.
 */
export const HANDSHAKE_HOLD_MS = 20;

/**
 * After a turn that read only datagrams that may wait (keepalives, initiations), at most
 * QUIET_MAX_READS of them, and sent nothing that may not wait, the ingress thread rests this long
 * before it reads again: what arrives meanwhile queues in the socket and is read in one turn. An
 * idle fleet's keepalives arrive one at a time from thousands of endpoints, and each woke the
 * thread from its poll on its own: at 30,000 devices ~1,500 wake-ups a second, the thread's
 * largest cost (the kernel's sleep and wake-up path: ~12 µs each on the development VM, ~1.8%
 * of a core). The main thread ends a rest at once when it hands over data to send; data that
 * arrives from a device during a rest waits for its end, so a device's first packet after a quiet
 * spell may wait up to this long (a visitor's exchange is not quiet: its turns never rest).
 */
export const QUIET_REST_MS = 5;
/** A turn that read more than this many datagrams is not quiet (a burst or a flood: keep reading). */
export const QUIET_MAX_READS = 16;

/** A WireGuard keepalive: a transport message (type 4) with no payload, header and tag only. */
export function isKeepalive(datagram: Uint8Array): boolean {
  return datagram.length === constants.MESSAGE_KEEPALIVE_SIZE && datagram[0] === constants.MESSAGE_TRANSPORT_TYPE;
}

/** How long each kind of datagram may wait for company between the threads (ms). */
export interface Holds {
  keepaliveMs: number;
  handshakeMs: number;
}

/**
 * How long `datagram` may wait for company on its way between the threads, or undefined when it
 * may not wait: keepalives either way, initiations coming in, responses going out.
 */
export function holdFor(datagram: Uint8Array, holds: Holds, direction: 'in' | 'out'): number | undefined {
  if (isKeepalive(datagram)) return holds.keepaliveMs;
  const type = datagram[0];
  if (direction === 'in' ? type === constants.MESSAGE_INITIATION_TYPE : type === constants.MESSAGE_RESPONSE_TYPE) return holds.handshakeMs;
  return undefined;
}

/**
 * When a batch of datagrams crosses: at the end of the turn (`soon`) once it holds one that may
 * not wait, else when the shortest hold among those in it ends. `add` is called for each datagram
 * put in the batch; `flush` sends the batch (an empty one is the caller's no-op).
 */
export class BatchSchedule {
  private soonArmed = false;
  private timer: NodeJS.Timeout | undefined;
  private until = Infinity;

  constructor(
    private readonly flush: () => void,
    private readonly soon: (run: () => void) => void,
    private readonly now: () => number,
  ) {}

  add(holdMs: number | undefined): void {
    if (this.soonArmed) return;
    if (holdMs === undefined) {
      this.soonArmed = true;
      this.soon(this.fire);
      return;
    }
    const until = this.now() + holdMs;
    if (until >= this.until) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.until = until;
    // Unreferenced: a hold never keeps a process or thread alive (the sockets do, while open).
    this.timer = setTimeout(this.fire, holdMs).unref();
  }

  /** How long until the batch is due to leave: 0 when it leaves this turn, Infinity when nothing waits. */
  msUntilDue(): number {
    if (this.soonArmed) return 0;
    return this.until === Infinity ? Infinity : Math.max(0, this.until - this.now());
  }

  /** Sends the batch now (it is full, or closing) and forgets what was armed for it. */
  readonly fire = (): void => {
    this.soonArmed = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.until = Infinity;
    this.flush();
  };
}

export interface DatagramBatch {
  /** rx: passed the checks, for the main thread; tx: to send; check: received by a peer socket, to be checked like rx. */
  t: 'rx' | 'tx' | 'check';
  bytes: ArrayBuffer;
  /** length, port, length, port, ... */
  meta: Uint32Array;
  addresses: string[];
  /** tx: holds a datagram that may not wait (holdFor), so the thread's turn is not quiet. */
  urgent?: boolean;
}

/** The ingress thread's OS thread name on Linux (at most 15 bytes): `top -H` and the hub bench show it. */
export const INGRESS_THREAD_NAME = 'udp-ingress';

/**
 * The ingress thread's nice value (the main thread's stays at the process's): the CFS weight of
 * nice 10 is about a tenth of nice 0's, so on a busy core the main thread runs first.
 */
export const INGRESS_THREAD_NICE = 10;

/** ready: the socket is bound; `nice` is the thread's nice value, undefined where it could not be lowered. */
export type FromIngressThread = DatagramBatch | { t: 'ready'; port: number; nice: number | undefined } | { t: 'socket-error'; message: string };
export type ToIngressThread = DatagramBatch | { t: 'close' };

/** Counter slots: datagrams received, passed to the main thread, cookie replies sent, datagrams sent for the main thread, batches posted, rests, then one per drop reason. */
export const RECEIVED = 0;
export const PASSED = 1;
export const COOKIE_REPLIES = 2;
export const SENT = 3;
/** Messages of datagrams (rx batches) the ingress thread posted to the main thread. */
export const BATCHES = 4;
/** Rests the ingress thread took after quiet turns (QUIET_REST_MS). */
export const RESTS = 5;
const FIRST_DROP = 6;
export const COUNTER_SLOTS = FIRST_DROP + DROP_REASONS.length;
const dropSlots = new Map(DROP_REASONS.map((reason, i) => [reason, FIRST_DROP + i]));

export function dropSlot(reason: DropReason): number {
  return dropSlots.get(reason)!;
}

export interface IngressCounts {
  received: number;
  passed: number;
  cookieReplies: number;
  sent: number;
  /** Messages the received datagrams went to the main thread in. */
  batches: number;
  /** Rests after quiet turns (QUIET_REST_MS). */
  rests: number;
  drops: Record<string, number>;
}

export function readCounters(counters: Float64Array): IngressCounts {
  const drops: Record<string, number> = {};
  for (const [reason, slot] of dropSlots) if (counters[slot]! > 0) drops[reason] = counters[slot]!;
  return { received: counters[RECEIVED]!, passed: counters[PASSED]!, cookieReplies: counters[COOKIE_REPLIES]!, sent: counters[SENT]!, batches: counters[BATCHES]!, rests: counters[RESTS]!, drops };
}

/** Collects datagrams and packs them into one batch message. */
export class BatchBuilder {
  private datagrams: Uint8Array[] = [];
  private endpoints: Endpoint[] = [];
  private bytes = 0;

  get size(): number {
    return this.datagrams.length;
  }

  add(datagram: Uint8Array, to: Endpoint): void {
    this.datagrams.push(datagram);
    this.endpoints.push(to);
    this.bytes += datagram.length;
  }

  /** The batch so far (then empty again), and what to transfer with it. */
  take(t: DatagramBatch['t']): [DatagramBatch, ArrayBuffer[]] {
    const bytes = new Uint8Array(this.bytes);
    const meta = new Uint32Array(this.datagrams.length * 2);
    const addresses = new Array<string>(this.datagrams.length);
    let offset = 0;
    for (let i = 0; i < this.datagrams.length; i++) {
      const datagram = this.datagrams[i]!;
      bytes.set(datagram, offset);
      offset += datagram.length;
      meta[i * 2] = datagram.length;
      meta[i * 2 + 1] = this.endpoints[i]!.port;
      addresses[i] = this.endpoints[i]!.address;
    }
    this.datagrams = [];
    this.endpoints = [];
    this.bytes = 0;
    return [{ t, bytes: bytes.buffer, meta, addresses }, [bytes.buffer, meta.buffer]];
  }
}

/** Calls visit for each datagram of a batch (views into its buffer: valid while the batch is). */
export function forEachDatagram(batch: DatagramBatch, visit: (datagram: Uint8Array, from: Endpoint) => void): void {
  let offset = 0;
  for (let i = 0; i < batch.addresses.length; i++) {
    const length = batch.meta[i * 2]!;
    visit(new Uint8Array(batch.bytes, offset, length), { address: batch.addresses[i]!, port: batch.meta[i * 2 + 1]! });
    offset += length;
  }
}
