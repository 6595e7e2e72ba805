// Where test scaffolding may live in a package's src/: in a `testing/` folder or a `testing.ts`
// entry (what the package exports for tests, its own and its users'), and in test files. Anywhere
// else a file that imports vitest, or whose name says it is for tests, is refused.

/** Name parts that mark a file as made for tests: `test-support.ts`, `fake-tunnel.ts`, `api-harness.ts`. */
const TEST_ONLY_PART = new Set(['test', 'tests', 'fake', 'fakes', 'harness', 'stub', 'stubs', 'mock', 'mocks', 'fixture', 'fixtures']);

/**
 * Why `path` (relative to its package's src/, with `/` separators) is test scaffolding outside its
 * place, or undefined when it is not. `imports` are the module specifiers the file imports.
 */
export function misplacedScaffolding(path: string, imports: readonly string[]): string | undefined {
  const parts = path.split('/');
  const name = parts.at(-1)!;
  if (/\.test\.tsx?$/.test(name) || parts.slice(0, -1).includes('testing') || /^testing\.tsx?$/.test(name)) return undefined;
  if (imports.includes('vitest')) return 'imports vitest but is not a test file';
  const stem = name.replace(/\.[mc]?tsx?$/, '');
  if (stem.split(/[-.]/).some((part) => TEST_ONLY_PART.has(part))) return 'is named as test scaffolding';
  return undefined;
}
