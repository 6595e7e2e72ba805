// The internal listener's request signature: what verifies, and every way a stranger's header fails.
import { describe, expect, it } from 'vitest';
import { CLUSTER_AUTH_SKEW_MS, signClusterRequest, verifyClusterRequest } from './cluster-auth.js';

const SECRET = 'a'.repeat(40);
const PATH = '/cluster/v1/dial?address=100.64.0.7&port=80';
const NOW = 1_800_000_000_000;

describe('cluster request signatures', () => {
  it('verifies its own signature and names the sending node', () => {
    const header = signClusterRequest(SECRET, 'hub-1', 'GET', PATH, NOW);
    expect(verifyClusterRequest(SECRET, header, 'GET', PATH, NOW + 1000)).toEqual({ ok: true, node: 'hub-1' });
  });

  it('refuses another secret, another path or method, and a replay outside the time window', () => {
    const header = signClusterRequest(SECRET, 'hub-1', 'GET', PATH, NOW);
    expect(verifyClusterRequest('b'.repeat(40), header, 'GET', PATH, NOW)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(verifyClusterRequest(SECRET, header, 'GET', PATH.replace('port=80', 'port=22'), NOW)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(verifyClusterRequest(SECRET, header, 'POST', PATH, NOW)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(verifyClusterRequest(SECRET, header, 'GET', PATH, NOW + CLUSTER_AUTH_SKEW_MS + 1)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyClusterRequest(SECRET, header, 'GET', PATH, NOW - CLUSTER_AUTH_SKEW_MS - 1)).toEqual({ ok: false, reason: 'stale' });
    // The node name is signed too: another node cannot be claimed with the same MAC.
    expect(verifyClusterRequest(SECRET, header.replace('hub-1', 'hub-2'), 'GET', PATH, NOW)).toEqual({ ok: false, reason: 'bad-mac' });
  });

  it('refuses missing and malformed headers without throwing, the secret itself among them', () => {
    expect(verifyClusterRequest(SECRET, undefined, 'GET', PATH, NOW)).toEqual({ ok: false, reason: 'missing' });
    for (const bad of [`Bearer ${SECRET}`, SECRET, 'PortholeCluster node="x"', 'PortholeCluster node="a b", ts="1", mac="x"', '\u0000'.repeat(10), 'PortholeCluster node="hub-1", ts="1", mac="' + 'A'.repeat(44) + '"']) {
      expect(verifyClusterRequest(SECRET, bad, 'GET', PATH, NOW).ok).toBe(false);
    }
  });
});
