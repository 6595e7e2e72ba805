// The agent's version, reported to the hub at registration (`agentVersion`).
export const AGENT_VERSION = '0.1.0';
