// Test prerequisites (root, network namespaces, external tools, services).
// On a laptop a missing prerequisite skips the suite with a printed reason; in CI (CI=true) it
// fails the suite instead, so a green CI run always means the tests really ran.
import { execFileSync } from 'node:child_process';

/** Whether `env` says this is a CI run (CI=true or CI=1). */
export function ciFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

export const isCI = ciFromEnv();

export interface Requirements {
  root?: boolean;
  tools?: string[];
  /** Any further check: return a reason string when unmet. */
  check?: () => string | undefined;
}

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${JSON.stringify(name)}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The unmet prerequisites, each as a human-readable reason. */
export function unmetRequirements(req: Requirements): string[] {
  const reasons: string[] = [];
  if (req.root && process.getuid?.() !== 0) reasons.push('needs root (network namespaces, TUN)');
  for (const tool of req.tools ?? []) if (!hasTool(tool)) reasons.push(`needs the '${tool}' command`);
  const extra = req.check?.();
  if (extra) reasons.push(extra);
  return reasons;
}

/**
 * Returns true when the suite can run. When it cannot: in CI this throws (the test file fails);
 * elsewhere it prints why and returns false, for `describe.skipIf(!ok)`.
 */
export function requirementsMet(suite: string, req: Requirements, ci: boolean = ciFromEnv()): boolean {
  const reasons = unmetRequirements(req);
  if (reasons.length === 0) return true;
  const message = `${suite}: ${reasons.join('; ')}`;
  if (ci) throw new Error(`${message} (mandatory in CI)`);
  console.warn(`SKIPPED ${message}`);
  return false;
}
