// @porthole/cli: the `porthole` command as a library — `run(argv, io)` is what main.ts and the tests call.
export { run, commands, VERSION } from './run.js';
export type { CliIo } from './io.js';
export { EXIT, CliError, UsageError } from './errors.js';
export { ApiClient, ApiError, normalizeHubUrl } from './api-client.js';
export { renderTable, type Column } from './table.js';
export { buildSshInvocation } from './commands/ssh.js';
export { openTunnel, pipeTunnel, type Tunnel, type TunnelResult } from './tcp-tunnel.js';
