// Handshake initiations a flood is made of: each from a fresh static key the responder does not
// know, with a valid mac1 (the responder's public key is public, so anyone can compute it) and a
// zero mac2. They pass the size, type and mac1 checks and cost a responder DH work unless it is
// under load and asks for cookies.
import { WireGuardDevice } from '../device.js';
import { generatePrivateKey } from '../keys.js';

/** `count` distinct initiations to `responderPublicKey` (base64), each 148 bytes. */
export function bogusInitiations(responderPublicKey: string, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    let captured: Uint8Array | undefined;
    const sender = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: (d) => (captured = d), onPacket: () => {} });
    sender.addPeer({ publicKey: responderPublicKey, allowedIps: ['0.0.0.0/32'], endpoint: { address: '192.0.2.1', port: 9 } });
    const packet = new Uint8Array(20); // the first send starts the handshake: its initiation is kept
    packet[0] = 0x45;
    sender.send(packet, 0);
    out.push(captured!);
  }
  return out;
}
