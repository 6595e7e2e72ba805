// PORTHOLE_WEBHOOK_URL and PORTHOLE_WEBHOOK_SECRET(_FILE): the hub-wide webhook endpoint and its
// signing secret, both or neither; an http(s) URL; a secret of 16 to 256 characters, best from a file.
import { describe, expect, it } from 'vitest';
import { configFiles, configProblems } from '../testing/config-files.js';
import { describeConfig, loadConfig } from './load-config.js';

const SECRET = 'a-webhook-secret-of-32-characters';
const files = configFiles({ '/run/secrets/webhook': `${SECRET}\n` });
const problems = (env: Record<string, string>) => configProblems(env, files);

describe('the hub-wide webhook settings', () => {
  it('are unset by default; the secret comes from a file and is never described', () => {
    expect(loadConfig({}, files).webhookUrl).toBeUndefined();
    const c = loadConfig({ PORTHOLE_WEBHOOK_URL: 'https://hooks.example.io/porthole', PORTHOLE_WEBHOOK_SECRET_FILE: '/run/secrets/webhook' }, files);
    expect(c.webhookUrl).toBe('https://hooks.example.io/porthole');
    expect(c.webhookSecret).toBe(SECRET);
    expect(JSON.stringify(describeConfig(c))).not.toContain(SECRET);
  });

  it('refuses one without the other, naming the missing variable', () => {
    expect(problems({ PORTHOLE_WEBHOOK_URL: 'https://hooks.example.io/x' })).toEqual([expect.stringContaining('PORTHOLE_WEBHOOK_SECRET_FILE')]);
    expect(problems({ PORTHOLE_WEBHOOK_SECRET: SECRET })).toEqual([expect.stringContaining('PORTHOLE_WEBHOOK_URL')]);
  });

  it('refuses a URL that is not http(s) and a short secret', () => {
    expect(problems({ PORTHOLE_WEBHOOK_URL: 'ftp://hooks.example.io/x', PORTHOLE_WEBHOOK_SECRET: SECRET })).toEqual([expect.stringContaining('PORTHOLE_WEBHOOK_URL')]);
    expect(problems({ PORTHOLE_WEBHOOK_URL: 'https://hooks.example.io/x', PORTHOLE_WEBHOOK_SECRET: 'short' })).toEqual([expect.stringContaining('PORTHOLE_WEBHOOK_SECRET')]);
  });
});
