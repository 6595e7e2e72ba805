import { describe, expect, it } from 'vitest';
import { misplacedScaffolding } from './test-scaffolding.js';

describe('misplacedScaffolding', () => {
  it('refuses test helpers beside product code, by name or by a vitest import', () => {
    expect(misplacedScaffolding('registry/test-support.ts', [])).toMatch(/named as test scaffolding/);
    expect(misplacedScaffolding('tunnel/fake-tunnel.ts', ['node:net'])).toMatch(/named as test scaffolding/);
    expect(misplacedScaffolding('api/api-harness.ts', [])).toMatch(/named as test scaffolding/);
    expect(misplacedScaffolding('registry/clock.ts', ['vitest'])).toMatch(/imports vitest/);
  });

  it('allows test files, testing/ folders, testing.ts entries and names that merely contain "test"', () => {
    expect(misplacedScaffolding('registry/claims.test.ts', ['vitest'])).toBeUndefined();
    expect(misplacedScaffolding('portal/pages.test.tsx', ['vitest'])).toBeUndefined();
    expect(misplacedScaffolding('testing/test-hub.ts', ['vitest'])).toBeUndefined();
    expect(misplacedScaffolding('testing.ts', [])).toBeUndefined();
    expect(misplacedScaffolding('registry/attestation.ts', [])).toBeUndefined();
    expect(misplacedScaffolding('dataplane/latest-handshake.ts', [])).toBeUndefined();
  });
});
