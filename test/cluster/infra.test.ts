// infra/ for a hub cluster: the HAProxy example parses with Debian's HAProxy (`haproxy -c`, with a
// throwaway certificate in place of the example's path) and routes to /readyz-checked nodes; the
// systemd template unit passes `systemd-analyze verify` for an instance without a warning and sets
// what each node needs. Skips with a reason without HAProxy or systemd-analyze; fails in CI.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../support/requirements.js';

const repo = join(import.meta.dirname, '..', '..');
const haproxyCfg = join(repo, 'infra', 'haproxy', 'porthole-cluster.cfg');
const unitFile = join(repo, 'infra', 'porthole-hub@.service');
const dir = mkdtempSync(join(tmpdir(), 'k2-infra-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!requirementsMet('infra: HAProxy example', { tools: ['haproxy', 'openssl'] }))('infra/haproxy/porthole-cluster.cfg', () => {
  it('is a valid configuration for HAProxy', () => {
    const key = join(dir, 'k.pem');
    const crt = join(dir, 'c.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=portal.example.com'], { stdio: 'ignore' });
    const pem = join(dir, 'porthole.pem');
    writeFileSync(pem, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'));
    const text = readFileSync(haproxyCfg, 'utf8');
    expect(text).toContain('/etc/haproxy/certs/porthole.pem');
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, text.replaceAll('/etc/haproxy/certs/porthole.pem', pem));
    const r = spawnSync('haproxy', ['-c', '-f', cfg], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain('Configuration file is valid');
    expect(r.stderr).not.toMatch(/\[(WARNING|ALERT)\]/);
    expect(r.status).toBe(0);
    // A broken copy is refused: the check above can fail.
    writeFileSync(cfg, text.replaceAll('/etc/haproxy/certs/porthole.pem', pem).replace('balance leastconn', 'balance nonsense'));
    expect(spawnSync('haproxy', ['-c', '-f', cfg], { encoding: 'utf8' }).status).not.toBe(0);
  });

  it('checks /readyz on every node of both backends and keeps tunnels open', () => {
    const text = readFileSync(haproxyCfg, 'utf8');
    for (const backend of ['hub_portal', 'hub_devices']) {
      const body = text.split(`backend ${backend}\n`)[1]!.split(/\n(?=backend |frontend )/)[0]!;
      expect(body).toContain('http-check send meth GET uri /readyz');
      expect(body).toMatch(/default-server check inter \S+ fall \d/);
      expect(body.match(/^\s+server /gm)!.length).toBeGreaterThanOrEqual(2);
    }
    expect(text).toMatch(/timeout tunnel 1h/);
    // A database outage (every /readyz failing) falls back to nodes that are alive.
    expect(text).toMatch(/use_backend hub_alive if devices \{ nbsrv\(hub_devices\) eq 0 \}/);
    expect(text.split('backend hub_alive\n')[1]!.split(/\nbackend /)[0]).toContain('http-check send meth GET uri /healthz');
  });
});

// systemd-analyze comes with Debian's systemd package (.ci/run installs it): mandatory in CI, skipped
// with the reason printed elsewhere; the unit's contents are checked below regardless.
const haveSystemdAnalyze = requirementsMet('infra: systemd-analyze verify', { tools: ['systemd-analyze'] });

describe('infra/porthole-hub@.service', () => {
  it.skipIf(!haveSystemdAnalyze)('verifies cleanly as an instance with systemd-analyze', () => {
    const units = join(dir, 'units');
    execFileSync('mkdir', ['-p', units]);
    copyFileSync(unitFile, join(units, 'porthole-hub@.service'));
    const r = spawnSync('systemd-analyze', ['verify', join(units, 'porthole-hub@2.service')], { encoding: 'utf8' });
    // Only lines about this unit matter (a container's own unit files may warn about themselves).
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('porthole-hub@'));
    expect(ours).toEqual([]);
    expect(r.status).toBe(0);
    // A broken copy is reported: the check above can fail.
    writeFileSync(join(units, 'porthole-hub@.service'), readFileSync(unitFile, 'utf8').replace('KillMode=mixed', 'KillMode=sideways'));
    const bad = spawnSync('systemd-analyze', ['verify', join(units, 'porthole-hub@2.service')], { encoding: 'utf8' });
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/porthole-hub@.*kill mode/i);
  });

  it('gives each instance its name and ports, and shares the cluster settings', () => {
    const text = readFileSync(unitFile, 'utf8');
    for (const line of ['Environment=PORTHOLE_NODE_NAME=%H-%i', 'Environment=PORTHOLE_HTTP_PORT=808%i', 'Environment=PORTHOLE_WG_PORT=5182%i', 'EnvironmentFile=/etc/porthole/hub.env']) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/^ExecStart=.*PORTHOLE_CLUSTER_LISTEN=\$\{CLUSTER_ADDRESS\}:\$\{CLUSTER_PORT\}/m);
    for (const shared of ['DATABASE_URL', 'PORTHOLE_CLUSTER_SECRET_FILE', 'PORTHOLE_WG_KEY_FILE']) expect(text).toContain(shared);
  });
});
