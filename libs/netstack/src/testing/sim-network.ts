// A simulated point-to-point link between NetStacks with a seeded fault injector (loss,
// duplication, reordering, delay jitter, a rate limit with a drop-tail queue) and a simulated
// clock, so tests run the real state machines through hours of timeouts in milliseconds.
import { NetStack, type NetStackOptions } from '../stack/net-stack.js';
import { readAddress } from '../wire/ipv4-address.js';
import { Prng } from './prng.js';

export interface FaultConfig {
  /** Probability a packet is dropped. */
  loss?: number;
  /** Probability a packet is delivered twice. */
  duplicate?: number;
  /** Probability a packet is held back by an extra `reorderDelayMs`. */
  reorder?: number;
  reorderDelayMs?: number;
  /** One-way propagation delay and uniform jitter on top of it. */
  delayMs?: number;
  jitterMs?: number;
  /** Serialisation rate (bytes per ms); 0 = infinite. 125_000 = 1 Gbit/s. */
  bytesPerMs?: number;
  /** Bytes waiting for serialisation before drop-tail. */
  queueBytes?: number;
}

interface InFlight {
  at: number;
  order: number;
  to: NetStack;
  packet: Uint8Array;
}

export class SimNetwork {
  now = 0;
  readonly prng: Prng;
  private readonly stacks = new Map<number, NetStack>();
  private readonly linkFreeAt = new Map<NetStack, number>();
  private queue: InFlight[] = [];
  private order = 0;
  /** Set to false to make the wire drop everything (a peer that vanished). */
  connected = true;
  packetsSent = 0;
  packetsDropped = 0;
  /** Largest packet any stack transmitted (must stay within the MTU). */
  largestPacket = 0;
  /** Optional tap to observe or rewrite every packet before the fault injector. */
  tap: ((packet: Uint8Array, from: NetStack) => Uint8Array | undefined) | undefined;

  constructor(
    readonly seed: number,
    public faults: FaultConfig = {},
  ) {
    this.prng = new Prng(seed);
  }

  /** Creates a stack attached to the link; `random` defaults to this network's PRNG. */
  addStack(options: Omit<NetStackOptions, 'onTransmit'>): NetStack {
    const stack: NetStack = new NetStack({
      random: (n) => this.prng.bytes(n),
      ...options,
      onTransmit: (packet) => this.send(stack, packet),
    });
    this.stacks.set(stack.localAddr, stack);
    this.linkFreeAt.set(stack, 0);
    return stack;
  }

  private send(from: NetStack, original: Uint8Array): void {
    this.packetsSent++;
    if (original.length > this.largestPacket) this.largestPacket = original.length;
    const packet = this.tap ? this.tap(original, from) : original;
    if (packet === undefined) return;
    const to = packet.length >= 20 ? this.stacks.get(readAddress(packet, 16)) : undefined;
    const f = this.faults;
    if (to === undefined || !this.connected || (f.loss !== undefined && this.prng.next() < f.loss)) {
      this.packetsDropped++;
      return;
    }
    // Serialisation at the sender's interface with a bounded queue (drop-tail).
    let departs = this.now;
    if (f.bytesPerMs) {
      const free = Math.max(this.now, this.linkFreeAt.get(from)!);
      const backlogBytes = (free - this.now) * f.bytesPerMs;
      if (f.queueBytes !== undefined && backlogBytes > f.queueBytes) {
        this.packetsDropped++;
        return;
      }
      departs = free + packet.length / f.bytesPerMs;
      this.linkFreeAt.set(from, departs);
    }
    const copies = f.duplicate !== undefined && this.prng.next() < f.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let at = departs + (f.delayMs ?? 0) + (f.jitterMs ? this.prng.next() * f.jitterMs : 0);
      if (f.reorder !== undefined && this.prng.next() < f.reorder) at += f.reorderDelayMs ?? 1;
      this.push({ at, order: this.order++, to, packet });
    }
  }

  private push(item: InFlight): void {
    const q = this.queue;
    q.push(item);
    let i = q.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(q[p]!, item)) break;
      q[i] = q[p]!;
      i = p;
    }
    q[i] = item;
  }

  private pop(): InFlight {
    const q = this.queue;
    const top = q[0]!;
    const last = q.pop()!;
    if (q.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= q.length) break;
        const r = l + 1;
        const c = r < q.length && before(q[r]!, q[l]!) ? r : l;
        if (before(last, q[c]!)) break;
        q[i] = q[c]!;
        i = c;
      }
      q[i] = last;
    }
    return top;
  }

  /** The next simulated instant anything happens, or undefined when all is quiet. */
  private nextEventAt(): number | undefined {
    let at = this.queue.length > 0 ? this.queue[0]!.at : undefined;
    for (const stack of this.stacks.values()) {
      const d = stack.nextDeadline();
      if (d !== undefined && (at === undefined || d < at)) at = d;
    }
    return at;
  }

  /**
   * Advances simulated time, delivering packets and firing timers, until `done()` holds, nothing
   * is left to happen, or `maxMs` of simulated time passed. Returns whether `done()` held.
   */
  run(done: () => boolean, maxMs = 3_600_000): boolean {
    const limit = this.now + maxMs;
    while (!done()) {
      const at = this.nextEventAt();
      if (at === undefined || at > limit) return done();
      if (at > this.now) this.now = at;
      while (this.queue.length > 0 && this.queue[0]!.at <= this.now) {
        const item = this.pop();
        item.to.receive(item.packet, this.now);
      }
      for (const stack of this.stacks.values()) {
        const d = stack.nextDeadline();
        if (d !== undefined && d <= this.now) stack.tick(this.now);
      }
    }
    return true;
  }

  /** Advances simulated time by `ms`, processing everything due. */
  advance(ms: number): void {
    const until = this.now + ms;
    this.run(() => false, ms);
    this.now = Math.max(this.now, until);
  }
}

function before(a: InFlight, b: InFlight): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
