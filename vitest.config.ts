import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// One runner for the whole monorepo, in three layers a developer can run on their own
// (`npm run test:unit`, `test:integration`, `test:lab`; `npm test` runs all three):
// - unit: no network at all (test/support/no-network.ts fails a test that opens a socket) and no
//   database, under a minute: the tests beside the code in libs/*/src and apps/*/src, on in-process
//   stand-ins;
// - integration: loopback only (127.0.0.1) and databases (PGlite, the local PostgreSQL): whole hubs
//   and agents in-process, the CLI against a hub, servers on real sockets;
// - lab: network namespaces and root, wireguard-go, Chromium, slapd, HAProxy, child processes of whole
//   products (the demo, a fresh clone of the README path).
// A test file goes where what it does puts it, not by its folder: the lists below say which.

/** Tests beside the code that need loopback sockets or PostgreSQL (or kill child processes): integration. */
const SRC_ON_LOOPBACK = [
  'apps/agent/src/agent.test.ts',
  'apps/agent/src/control/control-link.test.ts',
  'apps/agent/src/forward/http-forwarder.test.ts',
  'apps/agent/src/forward/http-relay.test.ts',
  'apps/agent/src/forward/tofu.test.ts',
  'apps/agent/src/overlay.test.ts',
  'apps/agent/src/state/state-crash.test.ts',
  'apps/agent/src/transport/proxy-egress.test.ts',
  'apps/agent/src/tunnel/overlay-sockets.test.ts',
  'apps/agent/src/tunnel/wireguard-tunnel.test.ts',
  'apps/agent/src/web/remote-access-routes.test.ts',
  'apps/cli/src/tcp-tunnel.test.ts',
  'apps/demo-meter/src/meter.test.ts',
  'apps/hub/src/api/accounts-api.test.ts',
  'apps/hub/src/api/api-bad-input.test.ts',
  'apps/hub/src/api/api-routes.test.ts',
  'apps/hub/src/api/attestation-api.test.ts',
  'apps/hub/src/api/body-limits.test.ts',
  'apps/hub/src/auth/identity-provisioning.test.ts',
  'apps/hub/src/cluster/cluster-relay.test.ts',
  'apps/hub/src/dataplane/peer-socket-bind.test.ts',
  'apps/hub/src/dataplane/udp-ingress.test.ts',
  'apps/hub/src/device-control/device-control.test.ts',
  'apps/hub/src/main.test.ts',
  'apps/hub/src/ops/metrics.test.ts',
  'apps/hub/src/portal/admin-pages.test.ts',
  'apps/hub/src/portal/device-pages.test.ts',
  'apps/hub/src/portal/portal-routes.test.ts',
  'apps/hub/src/proxy/device-agent.test.ts',
  'apps/hub/src/registry/account-lifecycle.test.ts',
  'apps/hub/src/registry/accounts.test.ts',
  'apps/hub/src/registry/admin-bootstrap.test.ts',
  'apps/hub/src/registry/attested-registration.test.ts',
  'apps/hub/src/registry/claim-decisions.test.ts',
  'apps/hub/src/registry/claims.test.ts',
  'apps/hub/src/registry/device-admin.test.ts',
  'apps/hub/src/registry/device-sessions.test.ts',
  'apps/hub/src/registry/disabled-account.test.ts',
  'apps/hub/src/registry/login-throttle.test.ts',
  'apps/hub/src/registry/peer-status.test.ts',
  'apps/hub/src/registry/registration.test.ts',
  'apps/hub/src/server/connection-reuse.test.ts',
  'apps/hub/src/server/device-relay.test.ts',
  'apps/hub/src/server/hardening.test.ts',
  'apps/hub/src/server/hub-http.test.ts',
  'apps/hub/src/server/lifecycle.test.ts',
  'apps/hub/src/server/streaming.test.ts',
  'apps/hub/src/server/visitor-writes.test.ts',
  'apps/hub/src/transport/ws-datagram-transport.test.ts',
  'apps/hub/src/transport/ws-route.test.ts',
  'libs/datagram-transport/src/transport-helpers.test.ts',
  'libs/db/src/data-dir-lock.test.ts',
  'libs/db/src/copy.test.ts',
  'libs/db/src/database.test.ts',
  'libs/db/src/pglite-thread.test.ts',
  'libs/db/src/organizations-migration.test.ts',
  'libs/device-control/src/control.test.ts',
  'libs/wireguard/src/bind.test.ts',
  'libs/wireguard/src/node.test.ts',
];

/** Tests beside the code on an embedded database (PGlite starts in seconds, and it hashes passwords): integration. */
const SRC_ON_A_DATABASE = [
  'apps/hub/src/cluster/cluster-store.test.ts',
  'apps/hub/src/cluster/cluster-tickets.test.ts',
  'apps/hub/src/api/organization-isolation.test.ts',
  'apps/hub/src/api/organization-delete.test.ts',
  'apps/hub/src/api/organization-webhooks.test.ts',
  'apps/hub/src/portal/account-pages.test.ts',
  'apps/hub/src/portal/first-hour-pages.test.ts',
  'apps/hub/src/portal/organization-isolation-portal.test.ts',
  'apps/hub/src/portal/claim-organization.test.ts',
  'apps/hub/src/portal/organization-peer-pages.test.ts',
  'apps/hub/src/portal/organization-pages.test.ts',
  'apps/hub/src/portal/organization-switcher.test.ts',
  'apps/hub/src/portal/reservation-pages.test.ts',
];

/** Tests in test/ that need namespaces, root, external tools or a browser. */
const LAB = [
  'test/e2e/**/*.test.ts',
  'test/flood/**/*.test.ts',
  'test/browser/**/*.test.ts',
  'test/consoles/consoles-browser.test.ts',
  'test/sso/**/*.test.ts',
  'test/single-host/single-host-browser.test.ts',
  'test/security/device-isolation-browser.test.ts',
  'test/restrictive/restrictive-lab.test.ts',
  'test/interop/hub-admin-peer.test.ts',
  'test/interop/netstack-kernel-tcp.test.ts',
  'test/interop/wireguard-go.test.ts',
  'test/interop/wireguard-go-under-load.test.ts',
  'test/cluster/cluster-lab.test.ts',
  'test/cluster/infra.test.ts',
];

/**
 * Lab files that run two at a time, after the integration files and before the rest of the lab.
 * The wireguard-go rekey interop waits out wireguard-go's fixed 120-s REKEY_AFTER_TIME with the
 * machine ~93% idle (its flood is 5,000 datagrams/s; sampled from /proc/stat on a 2-vCPU VM): it
 * starts first (LabSequencer) and the other two run one after the other beside it, together under
 * its ~150 s. Alone, one after another, the three took ~300 s of the lab's ~680.
 */
const REKEY_INTEROP = 'test/interop/wireguard-go-under-load.test.ts';
const LAB_PAIRED = [REKEY_INTEROP, 'test/e2e/nat-lab.test.ts', 'test/restrictive/restrictive-lab.test.ts'];

/** The rekey interop first among its group's files, so its partners run beside it, not beside each other. */
class LabSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = sorted.filter((spec) => spec.moduleId.endsWith(`/${REKEY_INTEROP}`));
    return [...first, ...sorted.filter((spec) => !first.includes(spec))];
  }
}

/** Tests in test/ that need no network at all. */
const TEST_IN_PROCESS = ['test/interop/netstack-ws.test.ts', 'test/support/requirements.test.ts', 'scripts/test-scaffolding.test.ts'];

/**
 * Unit and integration files run two at a time (the machine's two cores): most integration files
 * wait on sockets and timers, not the CPU, and one worker left the suite over 25 minutes.
 */
const LOOPBACK_GROUP = { maxWorkers: 2, sequence: { groupOrder: 0 } };

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    sequence: { sequencer: LabSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          ...LOOPBACK_GROUP,
          include: ['libs/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', ...TEST_IN_PROCESS],
          exclude: ['**/node_modules/**', ...SRC_ON_LOOPBACK, ...SRC_ON_A_DATABASE],
          setupFiles: ['test/support/no-network.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          ...LOOPBACK_GROUP,
          include: [...SRC_ON_LOOPBACK, ...SRC_ON_A_DATABASE, 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...LAB, ...TEST_IN_PROCESS],
        },
      },
      {
        extends: true,
        test: {
          name: 'lab-paired',
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          include: LAB_PAIRED,
          exclude: ['**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'lab',
          // Namespaces, browsers and floods measure the machine: one file at a time, after the rest.
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
          include: LAB,
          exclude: ['**/node_modules/**', ...LAB_PAIRED],
        },
      },
    ],
  },
});
