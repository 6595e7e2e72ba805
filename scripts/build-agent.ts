// `npm run build:agent`: the device build of porthole-agent. One directory that plain node runs with
// no checkout beside it: apps/agent/src/main.ts bundled by esbuild into porthole-agent.mjs, and
// sodium-native (the libsodium AEAD, a native addon esbuild cannot inline) with what it loads at run
// time in node_modules/. Devices run this, not tsx: an idle agent is ~70 MB resident against ~95 MB
// under tsx, whose loader thread alone costs ~32 MB (apps/agent/README.md, "Memory").
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(REPO, 'apps/agent/src/main.ts');
/** The agent's one native dependency; resolved from the package that requires it. */
const NATIVE = { name: 'sodium-native', from: join(REPO, 'libs/wireguard') };
const DEFAULT_OUT_DIR = join(REPO, 'apps/agent/dist');
const BUNDLE_NAME = 'porthole-agent.mjs';

interface BuildAgentOptions {
  outDir: string;
  /** sodium-native prebuilds to ship, as `<platform>-<arch>` folder names, or 'all'; default this machine's. */
  prebuilds?: readonly string[] | 'all';
}

/** Builds the device directory; returns the bundle's path and the packages copied beside it. */
async function buildAgent(options: BuildAgentOptions): Promise<{ bundle: string; packages: string[] }> {
  const outDir = resolve(options.outDir);
  // Checked before anything is written: a failed build leaves the previous one as it was.
  const packages = runtimeClosure(NATIVE.name, NATIVE.from);
  const available = readdirSync(join(packages.get(NATIVE.name)!, 'prebuilds'));
  const host = `${process.platform}-${process.arch}`;
  const missing = options.prebuilds === 'all' ? [] : (options.prebuilds ?? []).filter((h) => !available.includes(h));
  if (missing.length > 0) throw new Error(`build-agent: ${NATIVE.name} has no prebuild for ${missing.join(', ')} (it has: ${available.join(', ')})`);
  // Built on a host sodium-native has no prebuild for (32-bit ARM Linux): the bundle alone, whose
  // WireGuard uses node:crypto's AEAD, as it would with a sodium-native that cannot load.
  const withNative = options.prebuilds !== undefined || available.includes(host);
  if (!withNative) console.warn(`build-agent: ${NATIVE.name} has no prebuild for ${host}; the agent will use node:crypto's slower AEAD`);
  const prebuilds = options.prebuilds ?? [host];

  const bundle = join(outDir, BUNDLE_NAME);
  // Only what this build writes: outDir may be a folder the caller keeps other things in.
  rmSync(bundle, { force: true });
  rmSync(join(outDir, 'node_modules'), { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  await build({
    entryPoints: [ENTRY],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    external: [NATIVE.name],
    // CommonJS dependencies inside an ES module bundle still call require(); libs/wireguard's
    // sodium-native.ts imports node:module as a namespace so this banner's name does not collide with its own.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });

  if (!withNative) return { bundle, packages: [] };
  for (const [name, dir] of packages) copyPackage(dir, join(outDir, 'node_modules', name), prebuilds);
  return { bundle, packages: [...packages.keys()] };
}

/** The directory of package `name` as node's resolution finds it from `fromDir` (node_modules up the tree). */
function packageDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`build-agent: package ${name} not found from ${relative(REPO, fromDir) || '.'}; run npm ci`);
  }
}

/** `name` and its runtime dependencies (dependencies, not peer or dev), name → installed directory. */
function runtimeClosure(name: string, fromDir: string, found = new Map<string, string>()): Map<string, string> {
  const dir = packageDir(name, fromDir);
  const seen = found.get(name);
  if (seen !== undefined) {
    // One flat node_modules beside the bundle holds one copy of each package.
    if (seen !== dir && readVersion(seen) !== readVersion(dir)) throw new Error(`build-agent: ${name} is installed in two versions (${seen}, ${dir})`);
    return found;
  }
  found.set(name, dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) runtimeClosure(dep, dir, found);
  return found;
}

function readVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Copies an installed package as npm unpacked it, minus its own node_modules (the closure is flat)
 * and, under prebuilds/, the other hosts' addons and the Bare runtime's `.bare` builds: node loads
 * `prebuilds/<platform>-<arch>/<name>.node` only (require-addon's resolution).
 */
function copyPackage(from: string, to: string, prebuilds: readonly string[] | 'all'): void {
  cpSync(from, to, {
    recursive: true,
    dereference: true,
    filter: (source) => {
      const path = relative(from, source).split(sep);
      if (path[0] === 'node_modules') return false;
      if (path[0] !== 'prebuilds' || path.length < 2) return true;
      if (prebuilds !== 'all' && !prebuilds.includes(path[1]!)) return false;
      return !source.endsWith('.bare');
    },
  });
}

function usage(): string {
  return [
    'npm run build:agent -- [--out DIR] [--prebuilds HOST[,HOST…] | --prebuilds all]',
    '',
    `Writes the device build of porthole-agent to DIR (default ${relative(process.cwd(), DEFAULT_OUT_DIR) || '.'}):`,
    `${BUNDLE_NAME} and node_modules/ with sodium-native. Run it with: node DIR/${BUNDLE_NAME} --help`,
    `--prebuilds: the sodium-native hosts to ship (default this machine's, ${process.platform}-${process.arch};`,
    'e.g. linux-arm64 for a Raspberry Pi 4/5 built elsewhere). A device without its prebuild falls back',
    "to node:crypto's slower AEAD; built on such a host (32-bit ARM), the build warns and ships the bundle alone.",
  ].join('\n');
}

const { values } = parseArgs({
  options: { out: { type: 'string' }, prebuilds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(usage());
  process.exit(0);
}
const outDir = values.out ?? DEFAULT_OUT_DIR;
const prebuilds = values.prebuilds === 'all' ? 'all' : values.prebuilds?.split(',').map((h) => h.trim()).filter(Boolean);
try {
  const { bundle, packages } = await buildAgent({ outDir, ...(prebuilds ? { prebuilds } : {}) });
  const beside = packages.length > 0 ? ` with ${packages.join(', ')} in ${join(dirname(bundle), 'node_modules')}` : '';
  console.log(`porthole-agent device build: ${bundle}${beside}`);
  const shown = relative(process.cwd(), bundle);
  console.log(`run it: node ${shown.startsWith('..') ? bundle : shown} --help`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
