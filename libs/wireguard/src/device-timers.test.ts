// The timer behaviour of whitepaper §6 driven by a fake clock: rekey after time and after messages,
// reject after messages, session expiry and key zeroing, handshake retransmission with jitter and
// giving up, the new-handshake timer, persistent keepalive, and the previous/current/next rotation.
import { describe, expect, it } from 'vitest';
import {
  KEEPALIVE_TIMEOUT_MS,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_JITTER_MAX_MS,
  REKEY_TIMEOUT_MS,
  ZERO_KEYS_AFTER_MS,
} from './constants.js';
import { A_TUNNEL, B_TUNNEL, TestPair, ipv4Packet, type Side, type WireDatagram } from './testing/device-pair.js';

const INITIATION = 148;
const isInitiation = (d: WireDatagram) => d.datagram.length === INITIATION;

function connected(options: ConstructorParameters<typeof TestPair>[0] = {}): TestPair {
  const pair = new TestPair(options);
  pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
  pair.flush();
  return pair;
}

function ping(pair: TestPair, from: Side): void {
  const [src, dst] = from === 'a' ? [A_TUNNEL, B_TUNNEL] : [B_TUNNEL, A_TUNNEL];
  (from === 'a' ? pair.a : pair.b).send(ipv4Packet(src, dst), pair.now);
  pair.flush();
}

describe('WireGuardDevice timers', () => {
  it('the initiator rekeys when sending on a session older than REKEY_AFTER_TIME; traffic continues', () => {
    const pair = connected();
    pair.advance(REKEY_AFTER_TIME_MS - 1_000);
    ping(pair, 'b');
    ping(pair, 'a');
    expect(pair.eventsOf('a', 'handshake-initiated').length).toBe(1);
    pair.advance(2_000);
    ping(pair, 'b'); // B is the responder of this session: it does not rekey on age
    expect(pair.eventsOf('b', 'handshake-initiated').length).toBe(0);
    const delivered = pair.delivered.b.length;
    ping(pair, 'a'); // A's session is 121 s old: the packet goes out and a new handshake starts
    expect(pair.delivered.b.length).toBe(delivered + 1);
    expect(pair.eventsOf('a', 'handshake-initiated').length).toBe(2);
    expect(pair.eventsOf('a', 'handshake-completed').length).toBe(2);
    ping(pair, 'b');
    ping(pair, 'a');
    expect(pair.delivered.a.length).toBe(3);
    expect(pair.delivered.b.length).toBe(delivered + 2);
  });

  it('rekeys after REKEY_AFTER_MESSAGES and refuses to send past REJECT_AFTER_MESSAGES', () => {
    const pair = connected({ a: { limits: { rekeyAfterMessages: 10, rejectAfterMessages: 1_000 } } });
    pair.advance(REKEY_TIMEOUT_MS + 1); // initiations are at most one per REKEY_TIMEOUT
    // The first session packet used counter 0; after counters 1–9 the next counter is 10, not > 10.
    for (let i = 0; i < 9; i++) pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    expect(pair.take(isInitiation).length).toBe(0);
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now); // next counter 11 > 10 → rekey
    expect(pair.take(isInitiation).length).toBe(1);

    const limited = connected({ a: { limits: { rejectAfterMessages: 5 } } });
    for (let i = 0; i < 6; i++) limited.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), limited.now);
    // The first packet used counter 0; counters 1–4 go out, the 6th packet waits for a new session.
    const out = limited.take();
    expect(out.filter((d) => !isInitiation(d)).length).toBe(4);
    expect(out.filter(isInitiation).length).toBe(0); // REKEY_TIMEOUT since the first handshake not over
    expect(limited.a.getPeer(limited.b.publicKey)!.stagedPackets).toBe(2);
    // As in wireguard-go no retry timer is armed by the refused initiation; the next send (or the
    // new-handshake timer armed by the data sent) starts the handshake once REKEY_TIMEOUT passed.
    limited.advance(REKEY_TIMEOUT_MS + 400);
    limited.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), limited.now);
    limited.flush();
    expect(limited.delivered.b.length).toBe(1 + 3); // the 4 sent above were taken off the wire
    expect(limited.eventsOf('a', 'handshake-completed').length).toBe(2);
  });

  it('expires a silent session after REJECT_AFTER_TIME and zeroes keys after 3×REJECT_AFTER_TIME', () => {
    const pair = connected();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    const [late] = pair.take();
    pair.advance(REJECT_AFTER_TIME_MS);
    expect(pair.eventsOf('a', 'session-expired').length).toBe(1);
    expect(pair.eventsOf('b', 'session-expired').length).toBe(1);
    pair.deliver(late!); // the keypair is too old to receive on
    expect(pair.b.drops['expired-keypair']).toBe(1);
    expect(pair.a.getPeer(pair.b.publicKey)!.hasSession).toBe(false);
    pair.advance(ZERO_KEYS_AFTER_MS - REJECT_AFTER_TIME_MS);
    expect(pair.eventsOf('a', 'keys-zeroed')).toEqual([{ type: 'keys-zeroed', peer: pair.b.publicKey, reason: 'timeout' }]);
    expect(pair.eventsOf('b', 'keys-zeroed').length).toBe(1);
    pair.deliver(late!); // index forgotten with the keys
    expect(pair.b.drops['unknown-index']).toBe(1);
    ping(pair, 'a'); // and a new session comes up on demand
    expect(pair.eventsOf('a', 'handshake-completed').length).toBe(2);
  });

  it('retransmits the initiation every REKEY_TIMEOUT + jitter, each one new, and gives up after 20', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    const sent: Array<{ at: number; index: string; ephemeral: string }> = [];
    const record = () => {
      for (const d of pair.take(isInitiation)) {
        sent.push({ at: pair.now, index: Buffer.from(d.datagram.subarray(4, 8)).toString('hex'), ephemeral: Buffer.from(d.datagram.subarray(8, 40)).toString('hex') });
      }
    };
    record();
    while (pair.eventsOf('a', 'handshake-gave-up').length === 0 && pair.now < 10_000_000) {
      pair.now = pair.a.nextDeadline()!;
      pair.a.tick(pair.now);
      record();
    }
    expect(sent.length).toBe(20);
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(REKEY_TIMEOUT_MS);
      expect(gap).toBeLessThan(REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1); // jittered, not a fixed period
    expect(new Set(sent.map((s) => s.index)).size).toBe(20); // fresh sender index …
    expect(new Set(sent.map((s) => s.ephemeral)).size).toBe(20); // … and ephemeral every time
    expect(pair.eventsOf('a', 'handshake-gave-up')).toEqual([{ type: 'handshake-gave-up', peer: pair.b.publicKey, attempts: 20 }]);
    expect(pair.a.drops['handshake-gave-up']).toBe(1); // the queued packet is dropped
    expect(pair.a.getPeer(pair.b.publicKey)!.stagedPackets).toBe(0);
  });

  it('starts a new handshake when data sent gets no answer for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT', () => {
    const pair = connected();
    pair.advance(30_000);
    const initiations = pair.eventsOf('a', 'handshake-initiated').length;
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    // B's answers (its keepalive) are lost.
    pair.advance(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS - 1, (d) => d.from === 'b');
    expect(pair.eventsOf('a', 'handshake-initiated').length).toBe(initiations);
    pair.advance(REKEY_TIMEOUT_JITTER_MAX_MS + 1, (d) => d.from === 'b');
    expect(pair.eventsOf('a', 'handshake-initiated').length).toBe(initiations + 1);
  });

  it('persistent keepalive brings the tunnel up by itself and keeps sending when idle', () => {
    const pair = new TestPair({ aPeer: { persistentKeepaliveSeconds: 25 } });
    pair.advance(0);
    expect(pair.eventsOf('a', 'handshake-completed').length).toBe(1);
    const before = pair.b.getPeer(pair.a.publicKey)!.rxBytes;
    pair.advance(100_000);
    const keepalives = (pair.b.getPeer(pair.a.publicKey)!.rxBytes - before) / 32;
    expect(keepalives).toBe(4);
    pair.a.updatePeer(pair.b.publicKey, { persistentKeepaliveSeconds: 0 });
    const after = pair.b.getPeer(pair.a.publicKey)!.rxBytes;
    pair.advance(100_000);
    expect(pair.b.getPeer(pair.a.publicKey)!.rxBytes).toBe(after);
  });

  it('rotates keypairs: the responder sends on the old session until the initiator confirms the new one', () => {
    const pair = connected();
    const receiverIndex = (d: WireDatagram) => Buffer.from(d.datagram.subarray(4, 8)).toString('hex');
    pair.advance(REKEY_AFTER_TIME_MS + 1);
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now); // on the old session, then a rekey
    const [oldData, init] = pair.take();
    expect(init!.datagram.length).toBe(INITIATION);
    pair.deliver(oldData!);
    pair.deliver(init!);
    const [response] = pair.take();
    expect(response!.datagram.length).toBe(92);

    pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL), pair.now);
    const [fromOld1] = pair.take(); // B has the new keypair only as `next`
    pair.deliver(response!);
    const [confirmation] = pair.take(); // A switched and confirms with a keepalive
    expect(confirmation!.datagram.length).toBe(32);
    expect(receiverIndex(confirmation!)).not.toBe(receiverIndex(oldData!));
    pair.deliver(fromOld1!); // A still receives on its previous keypair
    pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL), pair.now);
    const [fromOld2] = pair.take();
    expect(receiverIndex(fromOld2!)).toBe(receiverIndex(fromOld1!));

    pair.deliver(confirmation!); // B rotates: previous ← current, current ← next
    expect(pair.eventsOf('b', 'handshake-completed').length).toBe(2);
    pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL), pair.now);
    const [fromNew] = pair.take();
    expect(receiverIndex(fromNew!)).not.toBe(receiverIndex(fromOld1!));
    pair.deliver(fromNew!);
    pair.deliver(fromOld2!); // late packet on the previous session: still accepted once
    expect(pair.delivered.a.length).toBe(3);
    expect(pair.a.drops['decrypt-failed'] + pair.a.drops['unknown-index'] + pair.a.drops['replayed-counter']).toBe(0);
  });

  it('sends one last-minute handshake when receiving on its own session near REJECT_AFTER_TIME', () => {
    const pair = connected();
    pair.advance(REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS + 1, (d) => d.from === 'a' && isInitiation(d));
    const before = pair.eventsOf('a', 'handshake-initiated').length;
    ping(pair, 'b');
    expect(pair.eventsOf('a', 'handshake-initiated').length).toBe(before + 1);
    expect(pair.eventsOf('a', 'handshake-completed').length).toBe(2);
  });
});
