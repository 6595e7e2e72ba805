import { afterEach, describe, expect, it, vi } from 'vitest';
import { ciFromEnv, requirementsMet, unmetRequirements } from './requirements.js';

const MISSING = { tools: ['porthole-no-such-tool-xyz'] };

describe('unmetRequirements', () => {
  it('names a missing tool and passes a present one', () => {
    expect(unmetRequirements({ tools: ['sh'] })).toEqual([]);
    expect(unmetRequirements(MISSING)).toEqual(["needs the 'porthole-no-such-tool-xyz' command"]);
  });
  it('reports a failing custom check', () => {
    expect(unmetRequirements({ check: () => 'database unreachable' })).toEqual(['database unreachable']);
    expect(unmetRequirements({ check: () => undefined })).toEqual([]);
  });
});

describe('requirementsMet', () => {
  afterEach(() => vi.restoreAllMocks());

  it('in CI a missing tool fails the suite, naming the suite and the tool', () => {
    expect(() => requirementsMet('lab', MISSING, true)).toThrow("lab: needs the 'porthole-no-such-tool-xyz' command (mandatory in CI)");
  });

  it('on a laptop a missing tool skips the suite with a printed reason', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(requirementsMet('lab', MISSING, false)).toBe(false);
    expect(warn).toHaveBeenCalledWith("SKIPPED lab: needs the 'porthole-no-such-tool-xyz' command");
  });

  it('met requirements run the suite in CI and elsewhere', () => {
    expect(requirementsMet('lab', { tools: ['sh'] }, true)).toBe(true);
    expect(requirementsMet('lab', { tools: ['sh'] }, false)).toBe(true);
  });

  it('reads CI=true and CI=1 as CI, anything else not', () => {
    expect(ciFromEnv({ CI: 'true' })).toBe(true);
    expect(ciFromEnv({ CI: '1' })).toBe(true);
    expect(ciFromEnv({ CI: 'false' })).toBe(false);
    expect(ciFromEnv({})).toBe(false);
  });
});
