// PORTHOLE_MAX_EXPOSURE_HOURS: the fleet maximum of an owner's exposure window, whole hours 1–8760.
import { describe, expect, it } from 'vitest';
import { configFiles, configProblems } from '../testing/config-files.js';
import { loadConfig } from './load-config.js';

const noFiles = configFiles();

describe('PORTHOLE_MAX_EXPOSURE_HOURS', () => {
  it('is unset by default and read as whole hours', () => {
    expect(loadConfig({}, noFiles).maxExposureHours).toBeUndefined();
    expect(loadConfig({ PORTHOLE_MAX_EXPOSURE_HOURS: '8' }, noFiles).maxExposureHours).toBe(8);
  });

  it('refuses zero, fractions, words and more than a year, naming the variable', () => {
    for (const bad of ['0', '1.5', 'eight', '8761']) {
      const p = configProblems({ PORTHOLE_MAX_EXPOSURE_HOURS: bad });
      expect(p, bad).toHaveLength(1);
      expect(p[0], bad).toContain('PORTHOLE_MAX_EXPOSURE_HOURS');
    }
  });
});
