import { describe, expect, it } from 'vitest';
import { unmetRequirements } from './requirements.js';

describe('unmetRequirements', () => {
  it('names a missing tool and passes a present one', () => {
    expect(unmetRequirements({ tools: ['sh'] })).toEqual([]);
    expect(unmetRequirements({ tools: ['porthole-no-such-tool-xyz'] })).toEqual([
      "needs the 'porthole-no-such-tool-xyz' command",
    ]);
  });
  it('reports a failing custom check', () => {
    expect(unmetRequirements({ check: () => 'database unreachable' })).toEqual(['database unreachable']);
    expect(unmetRequirements({ check: () => undefined })).toEqual([]);
  });
});
