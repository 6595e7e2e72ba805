// The whole Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake against the cacophony test vector
// (haskell-cryptography/cacophony vectors/cacophony.txt, also in mcginty/snow tests/vectors), plus
// WireGuard's own C₀/H₀ constants. The vector's prologue replaces WireGuard's IDENTIFIER and its
// payloads replace the timestamp / empty payload; everything else is the code the device runs.
import { describe, expect, it } from 'vitest';
import { aeadOpen, aeadSeal, counterNonce } from './primitives.js';
import {
  WIREGUARD_INITIAL,
  beginHandshake,
  initialState,
  readInitiation,
  readResponse,
  split,
  writeInitiation,
  writeResponse,
} from './noise.js';
import { dh, ephemeralFromPrivate, importPrivateKey, importPublicKey } from './x25519.js';
import { hex, unhex } from './testing/seeded.js';

// Restated from the vector "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s" in mcginty/snow
// tests/vectors/cacophony.txt @ aabed3159deec0a0dfe3d5601c43322d84700c94. (An older copy of that
// file carries a different handshake_hash with identical messages; the newer one is used here.)
const V = {
  prologue: '4a6f686e2047616c74', // "John Galt"
  psk: '54686973206973206d7920417573747269616e20706572737065637469766521',
  initStatic: 'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1',
  initEphemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
  respStatic: '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
  respEphemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
  handshakeHash: 'f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5',
  messages: [
    {
      payload: '4c756477696720766f6e204d69736573',
      ciphertext:
        'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2ad57527207feb5' +
        '6253c9c94a9e496782ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985' +
        '464cf17e51ee93109008399a21f7e13f',
    },
    {
      payload: '4d757272617920526f746862617264',
      ciphertext:
        '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f007572dab03222' +
        '17755c0632f365717edbf34d33e87a',
    },
    { payload: '462e20412e20486179656b', ciphertext: '8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7' },
    { payload: '4361726c204d656e676572', ciphertext: '07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef' },
    {
      payload: '4a65616e2d426170746973746520536179',
      ciphertext: '6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d',
    },
    {
      payload: '457567656e2042f6686d20766f6e2042617765726b',
      ciphertext: 'dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292',
    },
  ],
};

/** The vector's static and ephemeral keys, and its first message as the initiator writes it with `payload` inside. */
function vectorInitiation(payload: Uint8Array) {
  const initStatic = ephemeralFromPrivate(unhex(V.initStatic));
  const respStatic = ephemeralFromPrivate(unhex(V.respStatic));
  const initEphemeral = ephemeralFromPrivate(unhex(V.initEphemeral));
  const staticStatic = dh(initStatic.privateKey, importPublicKey(respStatic.publicKey)!)!;
  const start = initialState(unhex(V.prologue));
  const init = beginHandshake(start, respStatic.publicKey);
  const m1 = writeInitiation(init, {
    localStaticPublic: initStatic.publicKey,
    remoteStatic: importPublicKey(respStatic.publicKey)!,
    staticStatic,
    ephemeral: initEphemeral,
    payload,
  })!;
  return { initStatic, respStatic, initEphemeral, staticStatic, start, init, m1 };
}

describe('Noise IKpsk2 (cacophony vector)', () => {
  it('derives the public keys the reference sheet lists', () => {
    expect(hex(ephemeralFromPrivate(unhex(V.initStatic)).publicKey)).toBe(
      '6bc3822a2aa7f4e6981d6538692b3cdf3e6df9eea6ed269eb41d93c22757b75a',
    );
    expect(hex(ephemeralFromPrivate(unhex(V.respStatic)).publicKey)).toBe(
      '31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62',
    );
  });

  it('reproduces all six messages and the handshake hash, from both sides', () => {
    const respEphemeral = ephemeralFromPrivate(unhex(V.respEphemeral));
    const psk = unhex(V.psk);

    // Message 1, initiator → responder.
    const { initStatic, respStatic, initEphemeral, staticStatic, start, init, m1 } = vectorInitiation(unhex(V.messages[0]!.payload));
    expect(hex(Buffer.concat([m1.ephemeral, m1.encryptedStatic, m1.encryptedPayload]))).toBe(V.messages[0]!.ciphertext);

    const resp = beginHandshake(start, respStatic.publicKey);
    const read1 = readInitiation(resp, {
      localStaticPrivate: respStatic.privateKey,
      ephemeral: m1.ephemeral,
      encryptedStatic: m1.encryptedStatic,
      encryptedPayload: m1.encryptedPayload,
      lookup: (pub) => (hex(pub) === hex(initStatic.publicKey) ? { context: 'peer-1', staticStatic } : undefined),
    })!;
    expect(read1.context).toBe('peer-1');
    expect(hex(read1.payload)).toBe(V.messages[0]!.payload);
    expect(hex(read1.initiatorStatic)).toBe(hex(initStatic.publicKey));

    // Message 2, responder → initiator.
    const m2 = writeResponse(resp, {
      ephemeral: respEphemeral,
      remoteEphemeral: read1.remoteEphemeral,
      remoteStatic: importPublicKey(read1.initiatorStatic)!,
      presharedKey: psk,
      payload: unhex(V.messages[1]!.payload),
    })!;
    expect(hex(Buffer.concat([m2.ephemeral, m2.encryptedPayload]))).toBe(V.messages[1]!.ciphertext);
    const payload2 = readResponse(init, {
      localEphemeral: initEphemeral,
      localStaticPrivate: initStatic.privateKey,
      ephemeral: m2.ephemeral,
      presharedKey: psk,
      encryptedPayload: m2.encryptedPayload,
    });
    expect(hex(payload2!)).toBe(V.messages[1]!.payload);
    expect(hex(init.h)).toBe(V.handshakeHash);
    expect(hex(resp.h)).toBe(V.handshakeHash);

    // Transport: messages alternate initiator/responder with counters 0, 0, 1, 1.
    const [iSend, iRecv] = split(init);
    const [rRecv, rSend] = split(resp);
    expect(hex(iSend)).toBe(hex(rRecv));
    expect(hex(iRecv)).toBe(hex(rSend));
    V.messages.slice(2).forEach((m, i) => {
      const key = i % 2 === 0 ? iSend : rSend;
      const nonce = counterNonce(Math.floor(i / 2));
      const sealed = aeadSeal(key, nonce, unhex(m.payload), new Uint8Array(0));
      expect(hex(sealed)).toBe(m.ciphertext);
      expect(hex(aeadOpen(key, nonce, sealed, new Uint8Array(0))!)).toBe(m.payload);
    });
  });

  it('a wrong psk or an unknown initiator fails instead of producing keys', () => {
    const { respStatic, staticStatic, start, init, m1 } = vectorInitiation(new Uint8Array(12));
    const lookupNone = () => undefined;
    const resp = beginHandshake(start, respStatic.publicKey);
    expect(
      readInitiation(resp, { localStaticPrivate: respStatic.privateKey, ...m1, lookup: lookupNone }),
    ).toBeUndefined();

    const resp2 = beginHandshake(start, respStatic.publicKey);
    const read = readInitiation(resp2, {
      localStaticPrivate: respStatic.privateKey,
      ...m1,
      lookup: () => ({ context: 1, staticStatic }),
    })!;
    const m2 = writeResponse(resp2, {
      ephemeral: ephemeralFromPrivate(unhex(V.respEphemeral)),
      remoteEphemeral: read.remoteEphemeral,
      remoteStatic: importPublicKey(read.initiatorStatic)!,
      presharedKey: unhex(V.psk),
      payload: new Uint8Array(0),
    })!;
    const result = readResponse(init, {
      localEphemeral: ephemeralFromPrivate(unhex(V.initEphemeral)),
      localStaticPrivate: importPrivateKey(unhex(V.initStatic)),
      ephemeral: m2.ephemeral,
      presharedKey: new Uint8Array(32), // the responder used V.psk
      encryptedPayload: m2.encryptedPayload,
    });
    expect(result).toBeUndefined();
  });
});

describe('WireGuard construction constants (whitepaper §5.4, wireguard-rs noise.rs)', () => {
  it('C₀ = HASH(CONSTRUCTION) and H₀ = HASH(C₀ ‖ IDENTIFIER)', () => {
    expect(hex(WIREGUARD_INITIAL.ck)).toBe('60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36');
    expect(hex(WIREGUARD_INITIAL.h)).toBe('2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3');
  });
});
