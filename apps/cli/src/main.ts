// `porthole`: the only module that touches process — argv, env, the standard streams, signals and
// the exit code. Everything else is run(argv, io).
import { run } from './run.js';

const controller = new AbortController();
let interrupted = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // First signal: stop long-running commands cleanly (close tunnels); second: leave now.
    if (++interrupted > 1) process.exit(130);
    controller.abort();
  });
}
// A closed stdout (`porthole devices list | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

const code = await run(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
  // How to start this CLI again (ssh's ProxyCommand): the same node, loader flags and script.
  selfCommand: [process.execPath, ...process.execArgv, process.argv[1]!],
  processStdio: true,
});
process.exitCode = code;
// Let pending stdout writes drain, then leave even if a stdin listener keeps the loop alive.
process.stdout.write('', () => process.exit(code));
