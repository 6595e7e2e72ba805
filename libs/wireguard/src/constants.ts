// WireGuard constants: the first block is fixed by the protocol (whitepaper §5.4 and §6.1,
// wireguard-go device/constants.go); the second block is ours to choose and only tunes behaviour.

// ---- From the protocol -------------------------------------------------------------------------

export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

export const MESSAGE_INITIATION_TYPE = 1;
export const MESSAGE_RESPONSE_TYPE = 2;
export const MESSAGE_COOKIE_REPLY_TYPE = 3;
export const MESSAGE_TRANSPORT_TYPE = 4;

export const MESSAGE_INITIATION_SIZE = 148;
export const MESSAGE_RESPONSE_SIZE = 92;
export const MESSAGE_COOKIE_REPLY_SIZE = 64;
export const MESSAGE_TRANSPORT_HEADER_SIZE = 16;
export const AEAD_TAG_SIZE = 16;
/** A transport message with an empty payload: header + tag. Also the smallest datagram accepted. */
export const MESSAGE_KEEPALIVE_SIZE = MESSAGE_TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE;
export const PADDING_MULTIPLE = 16;

export const KEY_SIZE = 32;
export const TAI64N_SIZE = 12;
export const COOKIE_SIZE = 16;
export const COOKIE_NONCE_SIZE = 24;

export const REKEY_AFTER_MESSAGES = 2 ** 60;
/**
 * 2^64 − 2^13 − 1 in the protocol. Counters are JavaScript numbers here (exact below 2^53); a
 * keypair cannot come near 2^53 messages within REJECT_AFTER_TIME (that would be ~5·10^13 packets
 * per second), so the effective limit is the largest exact number; see README "not supported".
 */
export const REJECT_AFTER_MESSAGES = Number.MAX_SAFE_INTEGER;
export const REKEY_AFTER_TIME_MS = 120_000;
export const REJECT_AFTER_TIME_MS = 180_000;
export const REKEY_ATTEMPT_TIME_MS = 90_000;
export const REKEY_TIMEOUT_MS = 5_000;
/** Upper bound (exclusive) of the random jitter added to handshake timers (wireguard-go 334 ms). */
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/** The retransmit timer gives up when it fires with more attempts than this (90 s / 5 s). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME_MS / REKEY_TIMEOUT_MS;
/** Erase all key material when no new session was derived for this long. */
export const ZERO_KEYS_AFTER_MS = 3 * REJECT_AFTER_TIME_MS;
export const COOKIE_REFRESH_TIME_MS = 120_000;
/** Minimum gap between two accepted initiations from one peer (the "flood" rule). */
export const HANDSHAKE_INITIATION_RATE_MS = 20;

/** Anti-replay bitmap of 128 blocks × 64 bits; one block is kept free, so 8128 usable counters. */
export const REPLAY_BLOCK_BITS = 64;
export const REPLAY_RING_BLOCKS = 128;
export const REPLAY_WINDOW_SIZE = (REPLAY_RING_BLOCKS - 1) * REPLAY_BLOCK_BITS;

// ---- Our choices ---------------------------------------------------------------------------------

/** Inner MTU used for padding (wireguard-go's DefaultMTU). */
export const DEFAULT_MTU = 1420;
/** Packets staged per peer while no session exists; the oldest is dropped beyond this. */
export const MAX_STAGED_PACKETS = 128;
/** Handshake rate limiter (only applied under load): per source address, as wireguard-go. */
export const RATE_LIMIT_PACKETS_PER_SECOND = 20;
export const RATE_LIMIT_BURST = 5;
export const RATE_LIMIT_GC_INTERVAL_MS = 1_000;
/**
 * Cookie replies a second from all sources together (burst: a tenth of a second's worth). With
 * spoofed source addresses the per-address limit does not bite; a reply costs ~20 µs with its
 * send, so this bounds a spoofed flood's cost to ~20% of a core while honest initiators, retrying
 * every 5 s, still get replies.
 */
export const COOKIE_REPLIES_PER_SECOND = 10_000;
/**
 * Automatic "under load" detection. wireguard-go looks at its handshake queue length; this core
 * processes synchronously, so it counts handshake messages per second instead and stays under load
 * for UNDER_LOAD_AFTER_TIME_MS after the rate was last exceeded.
 */
export const UNDER_LOAD_HANDSHAKES_PER_SECOND = 1_000;
/**
 * Handshake messages waiting for DH work; under load from an eighth full (wireguard-go's rule, with
 * its QueueHandshakeSize of 1024). Four times as many here: a responder handshake costs ~0.3 ms on
 * one thread, and with 128 the burst of a few hundred devices reconnecting at once already counted
 * as load (512 queued is ~150 ms of work; the 5-s stale limit bounds the wait).
 */
export const HANDSHAKE_QUEUE_CAPACITY = 4_096;
export const UNDER_LOAD_AFTER_TIME_MS = 1_000;
