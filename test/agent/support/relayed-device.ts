// The set-up of the reconnect tests: a hub whose devices are told to dial a UDP relay the test
// controls (it can drop, rebind or redirect traffic), and one public device whose agent came online
// through it.
import { startAgentHarness, type AgentHarness, type AgentHarnessOptions } from './agent-harness.js';
import { startHubHarness, until, type HubHarness } from './hub-harness.js';
import { startedForFile } from '../../support/started.js';
import { UdpRelay } from './udp-relay.js';

export interface RelayedDevice {
  relay: UdpRelay;
  hub: HubHarness;
  agent: AgentHarness;
  close(): Promise<void>;
}

export async function startRelayedDevice(serial: string, agentOptions: Omit<AgentHarnessOptions, 'hubUrl' | 'serial' | 'enrollmentToken'> = {}): Promise<RelayedDevice> {
  const relay = await UdpRelay.open();
  // Devices are told to dial the relay; the relay forwards to the hub's real UDP port.
  const hub = await startHubHarness({ wgEndpoint: () => `127.0.0.1:${relay.port}`, dialTimeoutMs: 2000 });
  relay.setTarget('127.0.0.1', hub.udpPort);
  const token = await hub.api('POST', '/enrollment-tokens', { description: `relayed ${serial}`, maxUses: 1 });
  const agent = await startAgentHarness({ ...agentOptions, hubUrl: hub.portalUrl, serial, enrollmentToken: token.json.token });
  await until(() => agent.agent.status().phase === 'online', 'the agent online through the relay', 15_000);
  const policy = await hub.api('PATCH', `/devices/${serial}`, { accessPolicy: 'public' });
  if (policy.status !== 200) throw new Error(`making ${serial} public: ${policy.status}`);
  return {
    relay,
    hub,
    agent,
    async close() {
      await agent.close();
      await hub.close();
      relay.close();
    },
  };
}

/** The relayed device of a test file: started before its tests, closed after them. */
export function useRelayedDevice(serial: string, agentOptions: Parameters<typeof startRelayedDevice>[1] = {}): RelayedDevice {
  return startedForFile(() => startRelayedDevice(serial, agentOptions));
}
