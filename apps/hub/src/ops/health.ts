// Liveness, readiness and metrics: /healthz answers while the process runs; /readyz runs the
// injected checks (database reachable, WireGuard socket bound…) with a deadline each, and answers
// 503 naming the failing ones (check errors are summarised, never echoed raw); /metrics is Prometheus.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics, type Registry } from './metrics.js';

/** Resolves (or returns true) when healthy; throws or returns false when not. */
export type ReadinessCheck = () => Promise<boolean | void> | boolean | void;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, 'ok' | 'failing' | 'timeout'>;
}

export interface Health {
  ready(): Promise<ReadinessReport>;
  /** Marks the hub as shutting down: readiness fails at once so load balancers stop sending. */
  setDraining(): void;
}

export function createHealth(checks: Record<string, ReadinessCheck>, timeoutMs = 2_000): Health {
  let draining = false;
  return {
    async ready() {
      const entries = await Promise.all(
        Object.entries(checks).map(async ([name, check]): Promise<[string, 'ok' | 'failing' | 'timeout']> => {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), timeoutMs);
          });
          try {
            const outcome = await Promise.race([Promise.resolve().then(check), timeout]);
            if (outcome === 'timeout') return [name, 'timeout'];
            return [name, outcome === false ? 'failing' : 'ok'];
          } catch {
            return [name, 'failing'];
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      const report: ReadinessReport = { ready: !draining && entries.every(([, v]) => v === 'ok'), checks: Object.fromEntries(entries) };
      if (draining) report.checks.shutdown = 'failing';
      return report;
    },
    setDraining() {
      draining = true;
    },
  };
}

export const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function json(res: ServerResponse, status: number, body: unknown, method: string | undefined): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(method === 'HEAD' ? undefined : text);
}

/**
 * Answers /healthz, /readyz and (when `metrics` is given) /metrics. Returns false for other paths
 * so the caller can route them elsewhere.
 */
export function handleOpsRequest(req: IncomingMessage, res: ServerResponse, path: string, health: Health, metrics?: Registry): boolean {
  if (path === '/healthz') {
    json(res, 200, { status: 'ok' }, req.method);
    return true;
  }
  if (path === '/readyz') {
    health.ready().then(
      (r) => json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', checks: r.checks }, req.method),
      () => json(res, 503, { status: 'not ready' }, req.method),
    );
    return true;
  }
  if (path === '/metrics' && metrics) {
    renderMetrics(metrics).then(
      (text) => {
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => json(res, 500, { error: { code: 'metrics_unavailable', message: 'The metrics could not be collected.' } }, req.method),
    );
    return true;
  }
  return false;
}
