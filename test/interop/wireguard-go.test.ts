// Interop with the stock wireguard-go on a TUN, everything inside one fresh network namespace:
// wireguard-go listens on 127.0.0.1:51820 with tunnel address 10.77.0.1, our device runs in a child
// process (libs/wireguard/src/testing/stdio-peer.ts) on 127.0.0.1:51821 as 10.77.0.2. Keys come from
// `wg genkey` (accepted by us) and from our generator (accepted by `wg pubkey`). A minimal ICMP echo
// responder (support/stdio-peer-client.ts) answers the kernel's pings; our own echo requests are
// answered by Linux.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKey, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { STDIO_PEER_SCRIPT } from '@porthole/wireguard/testing';
import { createNetns, stopProcess, type Netns } from '../support/netns.js';
import { requirementsMet } from '../support/requirements.js';
import { startWireGuardGo, wgGenkey, wgGenpsk, wgPubkey, type WireGuardGo } from '../support/wireguard-go.js';
import { icmpEcho, parseEcho, StdioPeer, type Echo } from './support/stdio-peer-client.js';

const ok = requirementsMet('wireguard-go interop', { root: true, tools: ['wireguard-go', 'wg', 'ip', 'ping'] });

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = `${REPO}node_modules/.bin/tsx`;
const PEER_SCRIPT = STDIO_PEER_SCRIPT;
const GO_PORT = 51820;
const OUR_PORT = 51821;
const GO_TUNNEL = '10.77.0.1';
const OUR_TUNNEL = '10.77.0.2';

describe.skipIf(!ok)('interop with wireguard-go (network namespace, TUN)', () => {
  let netns: Netns;
  let go: WireGuardGo;
  let peer: StdioPeer;
  let goPrivate: string;
  let goPublic: string;
  let ourPrivate: string;
  let ourPublic: string;
  let psk: string;
  const answered: Echo[] = [];

  beforeAll(async () => {
    netns = await createNetns('phwg');
    try {
      goPrivate = await wgGenkey();
      goPublic = await wgPubkey(goPrivate);
      psk = await wgGenpsk();
      ourPrivate = encodeKey(generatePrivateKey());
      ourPublic = encodeKey(publicKeyFromPrivate(decodeKey(ourPrivate)));

      go = await startWireGuardGo(netns);
      await go.set({
        privateKey: goPrivate,
        listenPort: GO_PORT,
        peers: [{ publicKey: ourPublic, presharedKey: psk, allowedIps: [`${OUR_TUNNEL}/32`], endpoint: `127.0.0.1:${OUR_PORT}` }],
      });
      await go.up(`${GO_TUNNEL}/24`);

      const child = netns.spawn(TSX, [PEER_SCRIPT], {
        env: { ...process.env, WG_PEER_PRIVATE_KEY: ourPrivate, WG_PEER_HOST: '127.0.0.1', WG_PEER_PORT: String(OUR_PORT) },
      });
      peer = new StdioPeer(child, (m) => {
        // The echo responder: answer every ICMP echo request addressed to us.
        if (m.event !== 'packet') return;
        const echo = parseEcho(Buffer.from(m.packet as string, 'hex'));
        if (echo?.type === 8 && echo.dst === OUR_TUNNEL) {
          answered.push(echo);
          peer.send({ cmd: 'send', packet: Buffer.from(icmpEcho(0, OUR_TUNNEL, echo.src, echo.id, echo.seq, echo.data)).toString('hex') });
        }
      });
      const ready = await peer.waitFor((m) => m.event === 'ready', 'the peer process to start', 60_000);
      expect(ready.publicKey).toBe(ourPublic);
      peer.send({
        cmd: 'addPeer',
        publicKey: goPublic,
        presharedKey: psk,
        allowedIps: [`${GO_TUNNEL}/32`],
        endpoint: { address: '127.0.0.1', port: GO_PORT },
      });
    } catch (err) {
      await cleanup();
      throw err;
    }
  });

  async function cleanup(): Promise<void> {
    if (peer) {
      peer.send({ cmd: 'exit' });
      await stopProcess(peer.child, 3_000);
    }
    if (go) await go.stop();
    if (netns) await netns.remove();
  }
  afterAll(cleanup);

  it('keys: wg accepts ours and we accept wg’s', async () => {
    expect(await wgPubkey(ourPrivate)).toBe(ourPublic);
    expect(encodeKey(publicKeyFromPrivate(decodeKey(goPrivate)))).toBe(goPublic);
    expect(goPrivate).toHaveLength(44);
    expect((await go.dump()).publicKey).toBe(goPublic);
  });

  it('handshake initiated by wireguard-go: the kernel pings us and our responder answers', async () => {
    const before = (await go.dump()).peers[0]!;
    expect(before.latestHandshake).toBe(0);
    const { stdout } = await netns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', OUR_TUNNEL], { timeoutMs: 30_000 });
    expect(stdout).toMatch(/3 packets transmitted, 3 received/);
    expect(answered.length).toBeGreaterThanOrEqual(3);
    const completed = await peer.waitFor((m) => m.event === 'wg' && m.type === 'handshake-completed', 'handshake');
    expect(completed).toMatchObject({ role: 'responder', peer: goPublic, endpoint: { address: '127.0.0.1', port: GO_PORT } });

    const after = (await go.dump()).peers[0]!;
    expect(after.publicKey).toBe(ourPublic);
    expect(after.presharedKey).toBe(psk);
    expect(after.endpoint).toBe(`127.0.0.1:${OUR_PORT}`);
    expect(after.latestHandshake).toBeGreaterThan(0);
    expect(after.rxBytes).toBeGreaterThan(before.rxBytes);
    expect(after.txBytes).toBeGreaterThan(before.txBytes);
    const status = await peer.status();
    expect(status.peers[0]!.rxBytes).toBe(after.txBytes); // both sides count whole datagrams
    expect(status.drops['internal-error']).toBe(0);
  });

  it('handshake initiated by us: our echo request to the kernel is answered through the tunnel', async () => {
    // Fresh sessions on both sides, so that this time we are the initiator.
    await go.set({ peers: [{ publicKey: ourPublic, remove: true }] });
    await go.set({
      peers: [{ publicKey: ourPublic, presharedKey: psk, allowedIps: [`${OUR_TUNNEL}/32`], endpoint: `127.0.0.1:${OUR_PORT}` }],
    });
    peer.send({ cmd: 'removePeer', publicKey: goPublic });
    peer.send({ cmd: 'addPeer', publicKey: goPublic, presharedKey: psk, allowedIps: [`${GO_TUNNEL}/32`], endpoint: { address: '127.0.0.1', port: GO_PORT } });
    const fresh = (await go.dump()).peers[0]!;
    expect(fresh.latestHandshake).toBe(0);

    const seen = peer.lines.length;
    const data = new TextEncoder().encode('porthole interop');
    for (let seq = 1; seq <= 3; seq++) {
      peer.send({ cmd: 'send', packet: Buffer.from(icmpEcho(8, OUR_TUNNEL, GO_TUNNEL, 0x4242, seq, data)).toString('hex') });
    }
    const replies: Echo[] = [];
    await peer.waitFor((m) => {
      if (m.event !== 'packet' || peer.lines.indexOf(m) < seen) return false;
      const echo = parseEcho(Buffer.from(m.packet as string, 'hex'));
      if (echo?.type === 0 && echo.id === 0x4242) replies.push(echo);
      return replies.length === 3;
    }, 'three echo replies from Linux');
    expect(replies.map((r) => [r.src, r.dst, r.seq, Buffer.from(r.data).toString()])).toEqual([
      [GO_TUNNEL, OUR_TUNNEL, 1, 'porthole interop'],
      [GO_TUNNEL, OUR_TUNNEL, 2, 'porthole interop'],
      [GO_TUNNEL, OUR_TUNNEL, 3, 'porthole interop'],
    ]);
    const initiated = peer.lines.slice(seen).find((m) => m.event === 'wg' && m.type === 'handshake-completed');
    expect(initiated).toMatchObject({ role: 'initiator', peer: goPublic });
    const after = (await go.dump()).peers[0]!;
    expect(after.latestHandshake).toBeGreaterThan(0);
    expect(after.rxBytes).toBeGreaterThan(148 + 3 * 32);
    expect(go.log()).toMatch(/Received handshake initiation/);
  });

  it('roaming: when our UDP port changes mid-session, wireguard-go follows the authenticated source', async () => {
    const NEW_PORT = OUR_PORT + 1;
    peer.send({ cmd: 'rebind', port: NEW_PORT });
    await peer.waitFor((m) => m.event === 'rebound' && m.port === NEW_PORT, 'the rebind');
    const seen = peer.lines.length;
    const data = new TextEncoder().encode('after roaming');
    peer.send({ cmd: 'send', packet: Buffer.from(icmpEcho(8, OUR_TUNNEL, GO_TUNNEL, 0x5151, 1, data)).toString('hex') });
    const reply = await peer.waitFor((m) => {
      if (m.event !== 'packet' || peer.lines.indexOf(m) < seen) return false;
      return parseEcho(Buffer.from(m.packet as string, 'hex'))?.id === 0x5151;
    }, 'an echo reply on the new port');
    expect(parseEcho(Buffer.from(reply.packet as string, 'hex'))).toMatchObject({ type: 0, src: GO_TUNNEL, seq: 1 });
    expect((await go.dump()).peers[0]!.endpoint).toBe(`127.0.0.1:${NEW_PORT}`);
    // No new handshake was needed: the session moved with the packets.
    expect(peer.lines.slice(seen).filter((m) => m.event === 'wg' && m.type === 'handshake-completed')).toEqual([]);
  });
});
