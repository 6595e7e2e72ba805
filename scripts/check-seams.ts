// The package seams `tsc -b` cannot see, checked after it (`npm run typecheck`, `npm test`). The
// compiler refuses an import of a package a project does not reference, but a relative path into a
// package it does reference type-checks (tsc swaps in that package's declarations), and it does not
// read package.json. So: a relative import stays inside its own package (test/, bench/ and scripts/
// reach packages by name only), and every `@porthole/*` import is declared in the importer's
// package.json (test/, bench/ and scripts/ declare theirs in the root one). Test scaffolding in a
// package's src/ stays in its `testing/` folder or `testing.ts` entry (test-scaffolding.ts).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { misplacedScaffolding } from './test-scaffolding.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|tsx|mts|cts)$/;
const SKIP = new Set(['node_modules', '.tsbuild', 'results']);

/** The package a path belongs to, e.g. `apps/hub`; undefined outside libs/* and apps/*. */
function packageOf(path: string): string | undefined {
  const [top, name] = relative(ROOT, path).split(sep);
  return (top === 'libs' || top === 'apps') && name ? `${top}/${name}` : undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name) || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function declaredDependencies(packageDir: string): Set<string> {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  return new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
}

const roots = ['libs', 'apps'].flatMap((top) => readdirSync(join(ROOT, top)).map((name) => join(ROOT, top, name, 'src')));
const files = [...roots, ...['test', 'bench', 'scripts'].map((dir) => join(ROOT, dir))].flatMap(sourceFiles);
const declared = new Map<string, Set<string>>();
const problems: string[] = [];

for (const file of files) {
  const own = packageOf(file);
  const deps = declared.get(own ?? '.') ?? declared.set(own ?? '.', declaredDependencies(join(ROOT, own ?? '.'))).get(own ?? '.')!;
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  if (own) {
    const misplaced = misplacedScaffolding(relative(join(ROOT, own, 'src'), file).split(sep).join('/'), importedFiles.map((i) => i.fileName));
    if (misplaced) problems.push(`${relative(ROOT, file)} ${misplaced}; test scaffolding goes in the package's testing/ folder`);
  }
  for (const { fileName: specifier } of importedFiles) {
    const where = `${relative(ROOT, file)}: '${specifier}'`;
    if (specifier.startsWith('.')) {
      const target = packageOf(resolve(dirname(file), specifier));
      if (target && target !== own) problems.push(`${where} reaches into ${target}; import it by its package name`);
    } else {
      const name = /^@porthole\/[^/]+/.exec(specifier)?.[0];
      if (name && !deps.has(name) && name !== `@porthole/${own?.split('/')[1]}`) {
        problems.push(`${where} is not declared in ${own ?? '.'}/package.json`);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`check-seams: ${problems.length} import(s) cross a package seam or file(s) of test scaffolding are out of place:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-seams: ${files.length} files, every import stays behind its package's entry points`);
