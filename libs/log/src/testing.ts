// `@porthole/log/testing`: credentials of every kind Porthole handles, and every way one can reach a
// logger, for tests that prove an app's logger never writes them. Fresh random values per call, so
// no test can pass by matching a fixed string.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Logger, LogLevel } from './logger.js';
import { LOG_LEVELS } from './logger.js';

export interface SecretSample {
  name: string;
  /** The field name it travels under when code logs it as a field. */
  key: string;
  /** The value as code holds it: a header value, a URL, a PEM file. */
  value: string;
  /** The value quoted in prose, as an error message or a log message would carry it. */
  text: string;
  /** What must never appear in the output. */
  needles: string[];
}

const random = (bytes = 24) => randomBytes(bytes).toString('base64url');

export function secretSamples(): SecretSample[] {
  const samples: SecretSample[] = [];
  for (const [kind, key] of [
    ['api', 'token'],
    ['ses', 'sessionToken'],
    ['enr', 'enrollmentToken'],
    ['poll', 'pollToken'],
  ] as const) {
    const secret = random(32);
    samples.push({ name: `ph_${kind}_ token`, key, value: `ph_${kind}_${secret}`, text: `request with ph_${kind}_${secret} refused`, needles: [secret] });
  }
  const password = `horse-${random(9)}`;
  samples.push({ name: 'password in a form body', key: 'password', value: password, text: `login failed: email=a%40example.io&password=${password}`, needles: [password] });
  const adminPassword = `staple-${random(9)}`;
  samples.push({ name: 'password in echoed JSON', key: 'adminPassword', value: adminPassword, text: `bad body {"email":"a@example.io","password":"${adminPassword}"}`, needles: [adminPassword] });
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pemBody = pem.split('\n')[1]!;
  samples.push({ name: 'PEM private key', key: 'privateKey', value: pem, text: `cannot load TLS key ${pem}`, needles: [pemBody] });
  const wgKey = randomBytes(32).toString('base64');
  samples.push({ name: 'WireGuard private key', key: 'privateKey', value: wgKey, text: `[Interface]\nPrivateKey = ${wgKey}\nAddress = 100.64.0.2/32`, needles: [wgKey] });
  const device = random();
  const portal = random();
  samples.push({
    name: 'cookies',
    key: 'cookie',
    value: `porthole_device=${device}; __Host-porthole_session=${portal}`,
    text: `upstream saw Cookie: porthole_device=${device}; __Host-porthole_session=${portal}`,
    needles: [device, portal],
  });
  const setCookie = random();
  samples.push({ name: 'set-cookie', key: 'set-cookie', value: `porthole_device=${setCookie}; Path=/; HttpOnly`, text: `redeemed, set porthole_device=${setCookie}; Path=/`, needles: [setCookie] });
  const bearer = random();
  samples.push({ name: 'bearer authorization', key: 'authorization', value: `Bearer ${bearer}`, text: `device answered 401 to Authorization: Bearer ${bearer}`, needles: [bearer] });
  const basic = Buffer.from(`meter:${random(6)}`).toString('base64');
  samples.push({ name: 'basic authorization', key: 'proxy-authorization', value: `Basic ${basic}`, text: `proxy refused Basic ${basic}`, needles: [basic] });
  const dbPassword = random(12);
  const url = `postgres://porthole:${dbPassword}@db.internal:5432/porthole`;
  samples.push({ name: 'database URL', key: 'databaseUrl', value: url, text: `connect ECONNREFUSED ${url}`, needles: [dbPassword] });
  const proxyPassword = random(12);
  samples.push({ name: 'proxy URL', key: 'proxy', value: `http://meter:${proxyPassword}@proxy.lan:3128`, text: `CONNECT via http://meter:${proxyPassword}@proxy.lan:3128 failed`, needles: [proxyPassword] });
  const ticket = random();
  samples.push({ name: 'sign-in ticket', key: 'url', value: `/.porthole/auth?ticket=${ticket}&next=%2F`, text: `GET /.porthole/auth?ticket=${ticket} answered 403`, needles: [ticket] });
  return samples;
}

/**
 * Logs `sample` at every level in every place a secret can travel: as a field, nested in headers,
 * in a Map, under a neutral name, in the message, in an error's message and cause, in an array and
 * in a child's fields. Returns how many lines that should have written.
 */
export function logEverywhere(logger: Logger, sample: SecretSample, levels: readonly LogLevel[] = LOG_LEVELS): number {
  const { key, value, text } = sample;
  let lines = 0;
  for (const level of levels) {
    const log = (l: Logger, msg: string, fields?: Record<string, unknown>) => {
      l[level](msg, fields);
      lines++;
    };
    log(logger, 'as a field', { [key]: value });
    log(logger, 'nested', { request: { method: 'GET', headers: { accept: 'text/html', [key]: value } } });
    log(logger, 'in a map', { headers: new Map([[key, value]]) });
    log(logger, 'under a neutral name', { detail: text, attempts: [text] });
    log(logger, `failed: ${text}`);
    log(logger, 'error', { err: new Error(text) });
    log(logger, 'error with a cause', { err: new Error('outer', { cause: new Error(text) }) });
    log(logger.child({ [key]: value, note: text }), 'child fields');
  }
  return lines;
}

/** Fresh samples, each logged everywhere by `logger`; `lines` is how many lines that should write. */
export function logAllSecrets(logger: Logger): { samples: SecretSample[]; lines: number } {
  const samples = secretSamples();
  let lines = 0;
  for (const s of samples) lines += logEverywhere(logger, s);
  return { samples, lines };
}

/** The needles of `samples` that occur in `output`; empty when nothing leaked. */
export function leakedSecrets(output: string, samples: SecretSample[]): string[] {
  return samples.flatMap((s) => s.needles.filter((n) => output.includes(n)).map((n) => `${s.name}: ${n}`));
}
