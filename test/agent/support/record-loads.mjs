// Preloaded into a porthole-agent child (`--import` after tsx): records every module the ESM loader
// loads and, on SIGUSR2, writes one JSON line to stderr with them and the built-in modules loaded so
// far (`process.moduleLoadList`: undici shows there once fetch, Request, Response or Headers is used).
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const loaded = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => loaded.push(url));
port1.unref();
register('./record-loads-hook.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
process.on('SIGUSR2', () => {
  process.stderr.write(`${JSON.stringify({ loaded, builtins: process.moduleLoadList })}\n`);
});
