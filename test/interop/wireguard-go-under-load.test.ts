// wireguard-go as the initiator while our device (the responder, as the hub is) is under load from
// a flood of valid-mac1 initiations: wireguard-go's first initiation gets a cookie reply, its next
// one carries mac2 and completes the handshake; then, still under load, wireguard-go rekeys after
// REKEY_AFTER_TIME (120 s) through the same cookie exchange while the old session keeps carrying
// pings. One namespace: wireguard-go on 127.0.0.1:51820 (10.78.0.1), our device in the stdio peer
// process on 127.0.0.1:51821 (10.78.0.2), the flooder sending from 127.0.0.2.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKey, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { STDIO_PEER_SCRIPT } from '@porthole/wireguard/testing';
import { createNetns, stopProcess, type Netns } from '../support/netns.js';
import { requirementsMet } from '../support/requirements.js';
import { startWireGuardGo, wgGenkey, wgPubkey, type WireGuardGo } from '../support/wireguard-go.js';
import { icmpEcho, parseEcho, StdioPeer, type PeerMessage } from './support/stdio-peer-client.js';

const ok = requirementsMet('wireguard-go interop under load', { root: true, tools: ['wireguard-go', 'wg', 'ip', 'ping'] });

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = `${REPO}node_modules/.bin/tsx`;
const FLOODER = `${REPO}test/flood/fixtures/flooder.ts`;
const GO_PORT = 51820;
const OUR_PORT = 51821;
const GO_TUNNEL = '10.78.0.1';
const OUR_TUNNEL = '10.78.0.2';
/** Well above the 1,000 valid-mac1 messages without mac2 a second that put a device under load. */
const FLOOD_RATE = 5_000;

describe.skipIf(!ok)('interop with wireguard-go while our responder is under load', () => {
  let netns: Netns;
  let go: WireGuardGo;
  let peer: StdioPeer;
  let flooder: ReturnType<Netns['spawn']> | undefined;
  let goPublic: string;
  let floodProgress = { sent: 0, replies: 0 };
  const handshakes = () => peer.lines.filter((m) => m.event === 'wg' && m.type === 'handshake-completed' && m.peer === goPublic);

  beforeAll(async () => {
    netns = await createNetns('phwl');
    const goPrivate = await wgGenkey();
    goPublic = await wgPubkey(goPrivate);
    const ourPrivate = encodeKey(generatePrivateKey());
    const ourPublic = encodeKey(publicKeyFromPrivate(decodeKey(ourPrivate)));

    go = await startWireGuardGo(netns);
    await go.set({ privateKey: goPrivate, listenPort: GO_PORT, peers: [{ publicKey: ourPublic, allowedIps: [`${OUR_TUNNEL}/32`], endpoint: `127.0.0.1:${OUR_PORT}` }] });
    await go.up(`${GO_TUNNEL}/24`);

    const child = netns.spawn(TSX, [STDIO_PEER_SCRIPT], {
      env: { ...process.env, WG_PEER_PRIVATE_KEY: ourPrivate, WG_PEER_HOST: '127.0.0.1', WG_PEER_PORT: String(OUR_PORT) },
    });
    peer = new StdioPeer(child, (m: PeerMessage) => {
      if (m.event !== 'packet') return;
      const echo = parseEcho(Buffer.from(m.packet as string, 'hex'));
      if (echo?.type === 8 && echo.dst === OUR_TUNNEL) {
        peer.send({ cmd: 'send', packet: Buffer.from(icmpEcho(0, OUR_TUNNEL, echo.src, echo.id, echo.seq, echo.data)).toString('hex') });
      }
    });
    await peer.waitFor((m) => m.event === 'ready', 'the peer process to start', 60_000);
    peer.send({ cmd: 'addPeer', publicKey: goPublic, allowedIps: [`${GO_TUNNEL}/32`] });

    flooder = netns.spawn(TSX, [FLOODER], {
      env: { ...process.env, TARGET: `127.0.0.1:${OUR_PORT}`, RESPONDER_PUBLIC_KEY: ourPublic, RATE: String(FLOOD_RATE), SOURCE: '127.0.0.2', SOCKETS: '64' },
    });
    let buffered = '';
    flooder.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.includes('"progress"')) floodProgress = JSON.parse(line) as typeof floodProgress;
    });
    // Under load once the flood is answered with cookie replies.
    const deadline = Date.now() + 60_000;
    while (floodProgress.replies === 0) {
      if (Date.now() > deadline) throw new Error(`the flood never put our device under load (${JSON.stringify(floodProgress)})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);

  afterAll(async () => {
    if (flooder) await stopProcess(flooder, 2_000);
    if (peer) {
      peer.send({ cmd: 'exit' });
      await stopProcess(peer.child, 3_000);
    }
    if (go) await go.stop();
    if (netns) await netns.remove();
  });

  it('answers wireguard-go with a cookie reply, accepts its mac2 and completes the handshake', async () => {
    const cookiesBefore = (await peer.status()).drops['cookie-required']!;
    // wireguard-go retransmits every 5 s; the second initiation carries mac2. The flood shares the
    // peer's socket (and other labs run beside this file), so a ping may be lost at a socket: ping
    // exits non-zero only when none came back.
    const { stdout } = await netns.exec('ping', ['-c', '15', '-i', '1', '-W', '30', OUR_TUNNEL], { timeoutMs: 60_000 });
    expect(Number(/(\d+) received/.exec(stdout)?.[1])).toBeGreaterThan(0);
    expect(go.log()).toMatch(/Receiving cookie response/);
    expect(handshakes().length).toBeGreaterThanOrEqual(1); // a lost response means wireguard-go retries once more
    const status = await peer.status();
    expect(status.drops['cookie-required']!).toBeGreaterThan(cookiesBefore);
    expect(status.drops['internal-error']).toBe(0);
    expect(floodProgress.sent).toBeGreaterThan(0);
  }, 60_000);

  it('keeps answering pings across wireguard-go’s rekey (REKEY_AFTER_TIME, 120 s), which also goes through a cookie', async () => {
    const firstHandshake = (await go.dump()).peers[0]!.latestHandshake;
    const cookieLogsBefore = go.log().match(/Receiving cookie response/g)!.length;
    // Pings all the way past the rekey; the old session stays valid until REJECT_AFTER_TIME (180 s).
    const count = 140;
    const { stdout } = await netns.exec('ping', ['-c', String(count), '-i', '1', '-W', '5', OUR_TUNNEL], { timeoutMs: 200_000 }).catch((err: Error) => ({ stdout: err.message }));
    expect(handshakes().length).toBeGreaterThanOrEqual(2);
    expect((await go.dump()).peers[0]!.latestHandshake).toBeGreaterThan(firstHandshake);
    expect(go.log().match(/Receiving cookie response/g)!.length).toBeGreaterThan(cookieLogsBefore);
    // Served across the rekey: the flood shares the peer's socket, so single pings may get lost,
    // but there is no outage (a broken session would leave a run of unanswered pings).
    const answered = new Set([...stdout.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
    let longestGap = 0;
    for (let seq = 1, gap = 0; seq <= count; seq++) longestGap = Math.max(longestGap, (gap = answered.has(seq) ? 0 : gap + 1));
    expect(answered.size).toBeGreaterThan(count / 2);
    expect(answered.has(count) || answered.has(count - 1) || answered.has(count - 2)).toBe(true); // still answered after the rekey
    expect(longestGap).toBeLessThan(8);
  }, 240_000);
});
