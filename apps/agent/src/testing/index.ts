// @porthole/agent/testing: what tests of the agent's users build on — a registration and a status to
// start from, an in-memory overlay (fake tunnels), a SOCKS5 server on loopback that records what went through it, and loopback servers
// and a polling wait for those tests.
export { startTestSocksServer, type TestSocksServer } from './socks5-server.js';
export { serveApp, serveHandler, until, type Running } from './servers.js';
export { testAgentStatus, testRegistration } from './fixtures.js';
export { createFakeTunnelNetwork, FakeTunnel, type FakeTunnelNetwork } from './fake-tunnel.js';
