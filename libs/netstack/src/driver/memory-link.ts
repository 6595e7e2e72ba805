// Two drivers wired back to back in memory (tests, examples): packets are queued and delivered
// on setImmediate in order, so transmit never re-enters the sender's receive path. Each delivery
// is one burst, ended at once, as a batch of datagrams read in one event-loop turn.
import { createNetstack, type Netstack, type NetstackDriverOptions } from './create-netstack.js';

export interface MemoryLink {
  a: Netstack;
  b: Netstack;
  close(): void;
}

export function createMemoryLink(
  a: Omit<NetstackDriverOptions, 'onTransmit'>,
  b: Omit<NetstackDriverOptions, 'onTransmit'>,
): MemoryLink {
  let closed = false;
  const wire = (target: () => Netstack) => {
    let queue: Uint8Array[] = [];
    let scheduled = false;
    const deliver = () => {
      scheduled = false;
      const batch = queue;
      queue = [];
      if (closed) return;
      const net = target();
      for (const p of batch) net.receive(p);
      net.endBurst();
    };
    return (packet: Uint8Array) => {
      queue.push(packet);
      if (!scheduled) {
        scheduled = true;
        setImmediate(deliver);
      }
    };
  };
  const stackA: Netstack = createNetstack({ ...a, onTransmit: wire(() => stackB) });
  const stackB: Netstack = createNetstack({ ...b, onTransmit: wire(() => stackA) });
  return {
    a: stackA,
    b: stackB,
    close: () => {
      closed = true;
      stackA.close();
      stackB.close();
    },
  };
}
