// Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), with M a 4-microsecond clock and F a keyed hash (HMAC-SHA-256 truncated to 32 bits),
// so sequence numbers are unpredictable off-path yet advance monotonically per 4-tuple.
import { createHmac } from 'node:crypto';

export class IsnGenerator {
  constructor(private readonly secret: Uint8Array) {}

  generate(nowMs: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
    const tuple = Buffer.allocUnsafe(12);
    tuple.writeUInt32BE(localAddr >>> 0, 0);
    tuple.writeUInt16BE(localPort, 4);
    tuple.writeUInt32BE(remoteAddr >>> 0, 6);
    tuple.writeUInt16BE(remotePort, 10);
    const f = createHmac('sha256', this.secret).update(tuple).digest().readUInt32BE(0);
    // M: one tick per 4 µs (RFC 6528 §3, as RFC 793 suggested).
    const m = Math.floor(nowMs * 250);
    return (m + f) >>> 0;
  }
}
