// Packets for byte-exact wire tests. The TCP/ICMP ones were captured on Linux 6.1 (`lo` with MTU
// 1420 in a scratch network namespace: a Python client/server, a refused connect, `ping -c1`).
// Loopback leaves TCP checksums to offload, so the TCP checksum fields were filled in afterwards
// by an independent Python RFC 1071 implementation; IPv4 and ICMP checksums are the kernel's own.
// SACK_ACK was built field by field with Python's struct module (Linux only sends SACK on loss).

/** Linux SYN 127.0.0.1:43050 → :8080, `mss 1380,sackOK,TS val 3820580074 ecr 0,nop,wscale 10`. */
export const LINUX_SYN =
  '4500003cae6b400040068e4e7f0000017f000001a82a1f903807f3ae00000000a002fd5c08d90000020405640402080ae3b96cea000000000103030a';
/** Linux SYN-ACK answering LINUX_SYN: `mss 1380,sackOK,TS val 897591744 ecr 3820580074,nop,wscale 10`. */
export const LINUX_SYN_ACK =
  '4500003c0000400040063cba7f0000017f0000011f90a82af7a7beb73807f3afa012fb28f55b0000020405640402080a358029c0e3b96cea0103030a';
/** Linux data segment with PSH: "GET / HTTP/1.0\r\n\r\n", options NOP NOP TS. */
export const LINUX_DATA =
  '45000046ae6d400040068e427f0000017f000001a82a1f903807f3aff7a7beb880180040400a00000101080ae3b96cea358029c0474554202f20485454502f312e300d0a0d0a';
/** Linux FIN|ACK from the server side. */
export const LINUX_FIN_ACK =
  '45000034dc2640004006609b7f0000017f0000011f90a82af7a7bec43807f3c18011003f1ea500000101080a358029c1e3b96cea';
/** Linux RST|ACK answering a SYN to the closed port 8081 (kernel-computed checksum, no options). */
export const LINUX_RST_ACK = '450000280000400040063cce7f0000017f0000011f91eb060000000040e402c95014000063890000';
/** ping -c1 echo request (id 0x239e, seq 1, 56 data bytes) and the kernel's echo reply. */
export const LINUX_ECHO_REQUEST =
  '45000054857440004001b7327f0000017f00000108008492239e0001348b026b000000005505050000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';
export const LINUX_ECHO_REPLY =
  '45000054857500004001f7317f0000017f00000100008c92239e0001348b026b000000005505050000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';
/**
 * 100.64.0.2:443 → 100.64.0.1:50000 ACK, seq 0x11223344 ack 0x55667788 win 512,
 * NOP NOP TS(0x01020304, 0x0a0b0c0d), NOP NOP SACK [1000,2000) [3000,4000).
 */
export const SACK_ACK =
  '450000481234400040065ff9644000026440000101bbc3501122334455667788d01002003e8400000101080a010203040a0b0c0d01010512000003e8000007d000000bb800000fa0';

export function hex(text: string): Buffer {
  return Buffer.from(text, 'hex');
}

/**
 * ICMP packets the overlay sends today, as the agent's and hub's hand-written builders produced
 * them (kept byte-exact so they can move to buildIcmpv4Packet): echo request 100.64.0.2 →
 * 100.64.0.1, id 0x1234 seq 7, no data, TTL 64, ident 0, DF clear; and the agent's goodbye,
 * destination unreachable code 13 quoting a hub → device TCP header (total length 40) + 8 zero bytes.
 */
export const OVERLAY_ECHO_REQUEST = '4500001c000000004001b25e64400002644000010800e5c412340007';
export const OVERLAY_ADMIN_PROHIBITED =
  '45000038000000004001b2426440000264400001030dfcf20000000045000028000000004006b24d64400001644000020000000000000000';
