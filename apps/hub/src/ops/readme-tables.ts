// The tables of apps/hub/README.md that describe code: configuration (config/config-docs.ts, which
// the hub's --help reads too), metrics (from the registry a hub builds) and API routes (from the
// route table). readme.test.ts fails when the README differs from what these render.
import type { RouteDef } from '../api/route-table.js';
import { markdownCell as cell } from '../config/config-docs.js';
import type { Registry } from './metrics.js';

export { configTable } from '../config/config-docs.js';

export function metricsTable(registry: Registry): string {
  const rows = registry
    .getMetricsAsArray()
    .map((m) => m as unknown as { name: string; help: string; type: string; labelNames: string[] })
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => `| \`${m.name}\` | ${m.type} | ${m.labelNames.map((l) => `\`${l}\``).join(', ') || '—'} | ${cell(m.help)} |`);
  return ['| metric | type | labels | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function apiTable(routes: readonly RouteDef<never, never, never>[]): string {
  const auth = { none: 'none', read: 'token (read)', write: 'token (write)' } as const;
  const rows = routes.map((r) => `| ${r.method.toUpperCase()} | \`/api/v1${r.path}\` | ${auth[r.auth]} | ${cell(r.summary)} |`);
  return ['| method | path | auth | what it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
