// The UDP ingress thread (started by udp-ingress.ts): owns the hub's WireGuard socket, runs the
// cheap checks on every datagram (type and length, mac1, under load mac2 or a cookie reply, the
// per-source rate limit: @porthole/wireguard's IngressFilter) and passes only what survives to the
// main thread, in one message per turn of this thread's event loop; keepalives wait up to
// KEEPALIVE_HOLD_MS for company, initiations up to HANDSHAKE_HOLD_MS, and after a quiet turn the
// thread rests QUIET_REST_MS before it reads again (udp-ingress-protocol.ts). A flood of bogus
// initiations is read, answered and dropped here: the main thread never sees it, so the data
// packets of online devices no longer wait behind it. It also sends the main thread's datagrams, from the
// same socket (Node's dgram cannot bind a second socket to the port).
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { IngressFilter, UdpBind, type Endpoint } from '@porthole/wireguard';
import {
  BatchBuilder,
  BATCHES,
  BatchSchedule,
  COOKIE_REPLIES,
  dropSlot,
  forEachDatagram,
  holdFor,
  INGRESS_THREAD_NAME,
  INGRESS_THREAD_NICE,
  QUIET_MAX_READS,
  PASSED,
  RECEIVED,
  RESTS,
  SENT,
  type FromIngressThread,
  type IngressThreadData,
  type ToIngressThread,
} from './udp-ingress-protocol.js';

/** A batch is passed on at the end of the turn, or earlier once it holds this many datagrams. */
const MAX_BATCH = 256;

const port = parentPort!;
const post = (message: FromIngressThread, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
const data = workerData as IngressThreadData;
const counters = new Float64Array(data.counters);

const bind = await UdpBind.open({ port: data.port, host: data.host, reuseAddr: data.reuseAddr, onError: (err) => post({ t: 'socket-error', message: err.message }) });
const filter = new IngressFilter({
  publicKey: data.publicKey,
  transmit: (datagram, to) => {
    counters[COOKIE_REPLIES]!++;
    bind.send(datagram, to);
  },
});

const batch = new BatchBuilder();
const holds = data.holds;
const schedule = new BatchSchedule(
  () => {
    if (batch.size === 0) return;
    counters[BATCHES]!++;
    post(...batch.take('rx'));
  },
  // After this turn's reads: everything the socket had, in one message.
  setImmediate,
  () => performance.now(),
);

// Resting (QUIET_REST_MS): a turn is quiet when it read a few datagrams that may all wait and
// sent nothing that may not; the thread then blocks before its next poll, and what arrives
// meanwhile is read together. Atomics.wait blocks the whole thread (its messages wait too); the
// main thread notifies `wake` when it hands over data to send.
const wake = new Int32Array(data.wake);
let readsThisTurn = 0;
let urgentThisTurn = false;
let turnEnding = false;
const endTurn = (): void => {
  turnEnding = false;
  const quiet = !urgentThisTurn && readsThisTurn <= QUIET_MAX_READS;
  readsThisTurn = 0;
  urgentThisTurn = false;
  // Never past the moment the held batch is due: the hold, not the rest, says when it leaves.
  const restMs = Math.min(data.quietRestMs, schedule.msUntilDue());
  if (!quiet || !(restMs > 0)) return;
  counters[RESTS]!++;
  // Returns at once when the main thread set the flag since the last rest (its data waits in
  // this thread's port), else when notified or rested. Cleared after, never before: a flag set
  // just before the wait is not lost.
  Atomics.wait(wake, 0, 0, restMs);
  Atomics.store(wake, 0, 0);
};
const noteTurn = (urgent: boolean): void => {
  if (urgent) urgentThisTurn = true;
  if (turnEnding) return;
  turnEnding = true;
  setImmediate(endTurn);
};

const receive = (datagram: Uint8Array, from: Endpoint): void => {
  counters[RECEIVED]!++;
  readsThisTurn++;
  const dropped = filter.check(datagram, from, performance.now());
  if (dropped) return void counters[dropSlot(dropped)]!++;
  counters[PASSED]!++;
  // In arrival order: what was held so far leaves with the next datagram that may not wait.
  batch.add(datagram, from);
  const hold = holdFor(datagram, holds, 'in');
  noteTurn(hold === undefined);
  if (batch.size >= MAX_BATCH) schedule.fire();
  else schedule.add(hold);
};
bind.onReceive(receive);

port.on('message', (message: ToIngressThread) => {
  if (message.t === 'tx') {
    forEachDatagram(message, (datagram, to) => bind.send(datagram, to));
    // Data sent: its answer is on its way, so this turn is not quiet.
    if (message.urgent) noteTurn(true);
    counters[SENT]! += message.addresses.length;
  } else if (message.t === 'check') {
    forEachDatagram(message, receive);
  } else if (message.t === 'close') {
    void bind.close().then(() => port.close());
  }
});

// Under a flood this is the hub's busiest thread, while what visitors wait for runs on the main
// thread (online devices' data included, on their peer sockets). Where the machine has no CPU to
// spare, the scheduler should run the main thread when it has work and give this thread the rest.
// Linux keeps the nice value per thread, so this lowers this thread only; lowering needs no privilege.
let nice: number | undefined = INGRESS_THREAD_NICE;
try {
  setPriority(nice);
} catch {
  nice = undefined; // the platform refused: the thread runs at the process's priority (the main thread says so)
}

// Every thread of a Node process is called `node`; a name of its own lets `top -H`, `ps -L` and the
// hub bench's CPU split tell this one from V8's and libuv's helpers. Linux only; elsewhere unnamed.
try {
  writeFileSync('/proc/thread-self/comm', INGRESS_THREAD_NAME);
} catch {
  // no /proc (not Linux): nothing is lost but the name
}

post({ t: 'ready', port: bind.localPort, nice });
