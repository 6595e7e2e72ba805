// Values the agent's tests start from: a registration as the hub hands one out, and the status of
// an agent that is switched off. A test patches in only what it is about.
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import type { Registration } from '../registration.js';
import type { AgentStatus } from '../status.js';

/**
 * Device `serial` (default an1) at 100.64.0.5 in 100.64.0.0/10, its hub at 100.64.0.1 on
 * 127.0.0.1:51820 under a fresh key, its URL https://<serial>.example.io/; `hub` patches the hub part.
 */
export function testRegistration(patch: Partial<Omit<Registration, 'hub'>> & { hub?: Partial<Registration['hub']> } = {}): Registration {
  const { hub, ...rest } = patch;
  const serial = rest.serial ?? 'an1';
  return {
    serial,
    tunnelIp: '100.64.0.5',
    overlayCidr: '100.64.0.0/10',
    url: `https://${serial}.example.io/`,
    persistentKeepalive: 25,
    ...rest,
    hub: { publicKey: encodeKey(publicKeyFromPrivate(generatePrivateKey())), endpoint: '127.0.0.1:51820', tunnelIp: '100.64.0.1', ...hub },
  };
}

/** An agent that is off and unregistered (serial an12345678, target http://127.0.0.1:8080), patched. */
export function testAgentStatus(patch: Partial<AgentStatus> = {}): AgentStatus {
  return {
    phase: 'off',
    serial: 'an12345678',
    enabled: false,
    registered: false,
    publicUrl: undefined,
    tunnelIp: undefined,
    onlineSinceMs: undefined,
    lastHandshakeAtMs: undefined,
    transport: undefined,
    transportReason: undefined,
    transportProblems: [],
    network: { source: 'command line', transport: 'auto', proxy: undefined },
    claim: undefined,
    lastError: undefined,
    nextRetryAtMs: undefined,
    clockProblems: [],
    target: 'http://127.0.0.1:8080',
    exposed: [],
    certificate: undefined,
    exposure: { untilMs: undefined, endedAtMs: undefined, maxHours: undefined, choices: [1, 8, 24, null] },
    journal: [],
    ...patch,
  };
}
