// WireGuard core benchmarks, one core, in-process (no sockets): responder handshakes per second
// (consume initiation + create response, the hub's cost per connecting device) and transport
// encrypt+decrypt of 1420-byte packets through two devices, against raw node:crypto AEAD as baseline.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WireGuardDevice, generatePrivateKey, type Endpoint } from '@porthole/wireguard';
import type { BenchResult } from './harness.js';

const SUITE = 'wireguard';
const PACKET_BYTES = 1420;

function tai64n(counter: number): Uint8Array {
  const t = new Uint8Array(12);
  new DataView(t.buffer).setBigUint64(0, 0x4000_0000_0000_000an + BigInt(counter));
  return t;
}

function ipv4(src: number, dst: number, length: number): Uint8Array {
  const p = new Uint8Array(length);
  p[0] = 0x45;
  p[2] = length >> 8;
  p[3] = length & 0xff;
  p[9] = 17;
  new DataView(p.buffer).setUint32(12, src);
  new DataView(p.buffer).setUint32(16, dst);
  return p;
}

async function handshakes(log: (line: string) => void): Promise<BenchResult[]> {
  const initiators = 1500;
  let now = 1_000_000;
  const responses: Uint8Array[] = [];
  const responder = new WireGuardDevice({
    privateKey: generatePrivateKey(),
    onTransmit: (d) => responses.push(d),
    onPacket: () => {},
    underLoad: false,
  });
  const responderEndpoint: Endpoint = { address: '192.0.2.1', port: 51820 };
  // Each initiator produces two initiations (newer timestamps): one to warm the responder's
  // per-peer static-static cache, one measured.
  const rounds: Array<Array<{ msg: Uint8Array; from: Endpoint }>> = [[], []];
  for (let i = 0; i < initiators; i++) {
    let clock = 0;
    let captured: Uint8Array | undefined;
    const initiator = new WireGuardDevice({
      privateKey: generatePrivateKey(),
      onTransmit: (d) => (captured = d),
      onPacket: () => {},
      tai64n: () => tai64n(++clock),
    });
    initiator.addPeer({ publicKey: responder.publicKey, allowedIps: ['10.0.0.1/32'], endpoint: responderEndpoint });
    const tunnel = 0x0a01_0000 + i;
    responder.addPeer({ publicKey: initiator.publicKey, allowedIps: [`10.1.${(tunnel >> 8) & 0xff}.${tunnel & 0xff}/32`] });
    const from = { address: `198.51.100.${i & 0xff}`, port: 40000 + i };
    for (let r = 0; r < 2; r++) {
      captured = undefined;
      initiator.send(ipv4(tunnel, 0x0a00_0001, 60), 10_000 * (r + 1)); // 10 s apart: REKEY_TIMEOUT allows it
      rounds[r]!.push({ msg: captured!, from });
    }
  }
  log(`prepared ${initiators} initiators × 2 initiations`);

  const measure = (round: number) => {
    now += 1_000; // past the 20 ms flood window of the previous round
    responses.length = 0;
    const start = performance.now();
    for (const { msg, from } of rounds[round]!) responder.receive(msg, from, now);
    const seconds = (performance.now() - start) / 1000;
    if (responses.length !== initiators) throw new Error(`only ${responses.length}/${initiators} responses`);
    return initiators / seconds;
  };
  const cold = measure(0);
  const warm = measure(1);
  log(`responder: ${warm.toFixed(0)} handshakes/s (first contact incl. static-static DH: ${cold.toFixed(0)}/s)`);
  return [
    { suite: SUITE, case: 'handshake responder (steady state)', value: warm, unit: 'handshakes/s', note: `${initiators} peers` },
    {
      suite: SUITE,
      case: 'handshake responder (first contact)',
      value: cold,
      unit: 'handshakes/s',
      baseline: { case: 'handshake responder (steady state)', value: warm },
      note: 'includes the per-peer static-static DH, cached afterwards',
    },
  ];
}

function rawAead(iterations: number): number {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  const packet = randomBytes(PACKET_BYTES);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    nonce.writeUInt32LE(i, 4);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const body = c.update(packet);
    c.final();
    const tag = c.getAuthTag();
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    d.setAuthTag(tag);
    d.update(body);
    d.final();
  }
  return iterations / ((performance.now() - start) / 1000);
}

function transport(iterations: number): { both: number; encrypt: number; decrypt: number } {
  let now = 1_000_000;
  let wire: Uint8Array | undefined;
  let delivered = 0;
  const a = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: (d) => (wire = d), onPacket: () => {} });
  const b = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: (d) => (wire = d), onPacket: () => delivered++ });
  const aEp = { address: '192.0.2.1', port: 1 };
  const bEp = { address: '192.0.2.2', port: 2 };
  a.addPeer({ publicKey: b.publicKey, allowedIps: ['10.0.0.2/32'], endpoint: bEp });
  b.addPeer({ publicKey: a.publicKey, allowedIps: ['10.0.0.1/32'], endpoint: aEp });
  const packet = ipv4(0x0a00_0001, 0x0a00_0002, PACKET_BYTES);
  // Handshake: initiation → response → first data.
  a.send(packet, now);
  b.receive(wire!, aEp, now);
  a.receive(wire!, bEp, now);
  b.receive(wire!, aEp, now);
  if (delivered !== 1) throw new Error('no session');

  const datagrams: Uint8Array[] = new Array(iterations);
  let start = performance.now();
  for (let i = 0; i < iterations; i++) {
    a.send(packet, now);
    datagrams[i] = wire!;
  }
  const encrypt = iterations / ((performance.now() - start) / 1000);
  start = performance.now();
  for (let i = 0; i < iterations; i++) b.receive(datagrams[i]!, aEp, now);
  const decrypt = iterations / ((performance.now() - start) / 1000);
  now += 1;
  start = performance.now();
  for (let i = 0; i < iterations; i++) {
    a.send(packet, now);
    b.receive(wire!, aEp, now);
  }
  const both = iterations / ((performance.now() - start) / 1000);
  if (delivered !== 1 + 2 * iterations) throw new Error(`delivered ${delivered}, expected ${1 + 2 * iterations}`);
  return { both, encrypt, decrypt };
}

export default async function bench(log: (line: string) => void): Promise<BenchResult[]> {
  const rows = await handshakes(log);
  const iterations = 60_000;
  rawAead(5_000); // warm-up
  transport(5_000);
  const raw = rawAead(iterations);
  const t = transport(iterations);
  const mbit = (pps: number) => (pps * PACKET_BYTES * 8) / 1e6;
  log(`transport ${PACKET_BYTES} B: ${t.both.toFixed(0)} packets/s encrypt+decrypt (raw AEAD seal+open ${raw.toFixed(0)}/s)`);
  const base = { case: 'raw node:crypto seal+open', value: raw };
  rows.push(
    { suite: SUITE, case: 'raw node:crypto seal+open', value: raw, unit: 'packets/s', note: `${PACKET_BYTES} B, baseline` },
    { suite: SUITE, case: 'transport encrypt+decrypt', value: t.both, unit: 'packets/s', baseline: base, note: `${PACKET_BYTES} B inner packets` },
    { suite: SUITE, case: 'transport encrypt+decrypt', value: mbit(t.both), unit: 'Mbit/s', note: 'inner payload bits' },
    { suite: SUITE, case: 'transport encrypt only (send)', value: t.encrypt, unit: 'packets/s' },
    { suite: SUITE, case: 'transport decrypt only (receive)', value: t.decrypt, unit: 'packets/s' },
  );
  return rows;
}
