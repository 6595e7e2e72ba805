// Network namespaces for tests (needs root and iproute2): create one with a unique name, run
// commands or long-lived processes inside it, and always remove it. Names carry the pid and a random
// suffix so parallel test files never collide; every namespace and process created here is also
// removed/killed when the process exits, as a last resort if a test forgot its afterAll.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface Netns {
  readonly name: string;
  /** Runs `command args…` inside the namespace; rejects with stderr in the message on failure. */
  exec(command: string, args?: string[], options?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /** Starts a long-lived process inside the namespace (its own process group, for clean killing). */
  spawn(command: string, args?: string[], options?: SpawnOptions): ChildProcess;
  /** Deletes the namespace (idempotent). Processes still inside keep running: stop them first. */
  remove(): Promise<void>;
}

const live = new Set<string>();
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * A short unique name: `<prefix><pid base36><random hex>`, at most `maxLength` characters (15 is
 * the Linux interface-name limit, which also suits namespace names).
 */
export function uniqueName(prefix: string, maxLength = 15): string {
  const name = `${prefix}${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  return name.slice(0, maxLength);
}

/** Runs a command on the host (not in a namespace); rejects with its stderr on failure. */
export async function run(command: string, args: string[] = [], options: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  try {
    const child = execFileAsync(command, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    const { stdout, stderr } = await child;
    return { stdout: String(stdout), stderr: String(stderr) };
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: unknown };
    throw new Error(`${command} ${args.join(' ')} failed (${String(e.code)}): ${e.stderr?.trim() || e.message}`);
  }
}

/** Creates a fresh namespace with loopback up. */
export async function createNetns(prefix = 'pht'): Promise<Netns> {
  const name = uniqueName(prefix);
  await run('ip', ['netns', 'add', name]);
  live.add(name);
  installExitHook();
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await removeNetns(name);
    throw err;
  }
  return {
    name,
    exec: (command, args = [], options) => run('ip', ['netns', 'exec', name, command, ...args], options),
    spawn: (command, args = [], options = {}) => {
      const child = spawn('ip', ['netns', 'exec', name, command, ...args], { detached: true, stdio: 'pipe', ...options });
      killGroupOnExit(child);
      return child;
    },
    remove: () => removeNetns(name),
  };
}

/**
 * A veth pair created straight inside two namespaces (the host's own interface list is never
 * touched), addressed and up on both sides. Returns the name of b's side.
 */
export async function veth(a: Netns, aAddr: string, b: Netns, bAddr: string): Promise<string> {
  const an = uniqueName('va');
  const bn = uniqueName('vb');
  await run('ip', ['link', 'add', an, 'netns', a.name, 'type', 'veth', 'peer', 'name', bn, 'netns', b.name]);
  await a.exec('ip', ['addr', 'add', aAddr, 'dev', an]);
  await b.exec('ip', ['addr', 'add', bAddr, 'dev', bn]);
  await a.exec('ip', ['link', 'set', an, 'up']);
  await b.exec('ip', ['link', 'set', bn, 'up']);
  return bn;
}

/** The namespaces of one lab: made together, given hosts files, removed together (newest first). */
export interface NetnsGroup {
  make(prefix: string): Promise<Netns>;
  /** `/etc/hosts` for programs started with `ip netns exec <ns>` (ip bind-mounts /etc/netns/<ns>/hosts). */
  setHosts(ns: Netns, entries: Record<string, string>): void;
  close(): Promise<void>;
}

export function createNetnsGroup(): NetnsGroup {
  const created: Netns[] = [];
  const hostsDirs: string[] = [];
  return {
    async make(prefix) {
      const ns = await createNetns(prefix);
      created.push(ns);
      return ns;
    },
    setHosts(ns, entries) {
      const dir = join('/etc/netns', ns.name);
      mkdirSync(dir, { recursive: true });
      hostsDirs.push(dir);
      const lines = ['127.0.0.1 localhost', ...Object.entries(entries).map(([name, ip]) => `${ip} ${name}`)];
      writeFileSync(join(dir, 'hosts'), `${lines.join('\n')}\n`);
    },
    async close() {
      for (const ns of created.splice(0).reverse()) await ns.remove();
      for (const dir of hostsDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function removeNetns(name: string): Promise<void> {
  if (!live.has(name)) return;
  live.delete(name);
  await run('ip', ['netns', 'delete', name]).catch(() => undefined);
}

/**
 * Stops a process started with Netns.spawn: SIGTERM to its process group, SIGKILL after
 * `graceMs`; resolves when it has exited.
 */
export async function stopProcess(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig); // the whole group: ip → the real program
    } catch {
      child.kill(sig);
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A last resort: the process group of `child` (spawned detached) is killed if this process exits first. */
export function killGroupOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  installExitHook();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of children) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const name of live) {
      try {
        // Synchronous on purpose: nothing asynchronous runs during 'exit'.
        execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  });
}
