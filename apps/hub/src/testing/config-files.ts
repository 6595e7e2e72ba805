// The hub's configuration as its tests read it: files given by path (any other path is missing, as
// on a disk without it), and the problems loadConfig reports for a setting it refuses.
import { ConfigError, loadConfig, type FileReader } from '../config/load-config.js';

/** A FileReader that knows these paths' contents; reading any other path fails with ENOENT. */
export function configFiles(contents: Record<string, string> = {}): FileReader {
  return (path) => {
    if (path in contents) return contents[path]!;
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  };
}

/** The problems loadConfig reports for `env` and `files`; throws when it loads, or fails with anything but a ConfigError. */
export function configProblems(env: Record<string, string>, files: FileReader = configFiles()): string[] {
  try {
    loadConfig(env, files);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
