// The contract's own consistency: each operation's path parameters are exactly its params schema's
// fields, no two operations share a method and path, the OpenAPI document lists every operation
// with every $ref resolving, and the response schemas clients rely on refuse what they must.
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi.js';
import { operations, type ApiOperation } from './operations.js';
import { ClaimStartSchema, ErrorSchema, RegistrationSchema } from './schemas.js';

const entries = Object.entries(operations) as [string, ApiOperation][];

function shapeKeys(schema: ApiOperation['params']): string[] {
  return Object.keys((schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {}).sort();
}

describe('operations', () => {
  it.each(entries)('%s: the path parameters are the params schema', (_id, op) => {
    const inPath = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
    expect(shapeKeys(op.params)).toEqual(inPath);
  });

  it('no two operations answer the same method and path', () => {
    const routes = entries.map(([, op]) => `${op.method} ${op.path}`);
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('the OpenAPI document has every operation, and every $ref resolves', () => {
    const doc = buildOpenApiDocument({ version: 'test' }) as { paths: Record<string, Record<string, { operationId: string }>>; components: { schemas: Record<string, unknown> } };
    for (const [id, op] of entries) expect(doc.paths[op.path]?.[op.method]?.operationId).toBe(id);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(entries.length);
    for (const ref of refs) expect(doc.components.schemas[ref], ref).toBeDefined();
  });
});

describe('response schemas a client stores from', () => {
  const registration = {
    serial: 'an1',
    tunnelIp: '100.64.0.2',
    overlayCidr: '100.64.0.0/10',
    hub: { publicKey: `${'A'.repeat(43)}=`, endpoint: 'hub.example.io:51820', tunnelIp: '100.64.0.1' },
    url: 'https://an1.devices.example.io/',
    persistentKeepalive: 25,
  };

  it('a registration is accepted as the hub sends it, and refused with a broken key, address or URL', () => {
    expect(RegistrationSchema.parse(registration)).toEqual(registration);
    expect(RegistrationSchema.safeParse({ ...registration, hub: { ...registration.hub, publicKey: 'short' } }).success).toBe(false);
    expect(RegistrationSchema.safeParse({ ...registration, tunnelIp: 'an1' }).success).toBe(false);
    expect(RegistrationSchema.safeParse({ ...registration, url: 'not a url' }).success).toBe(false);
    expect(RegistrationSchema.safeParse({ ...registration, persistentKeepalive: 70_000 }).success).toBe(false);
  });

  it('a claim start needs URLs and a positive poll interval', () => {
    const start = { userCode: 'ABCD-EFGH', verificationUri: 'https://portal.example.io/claim', verificationUriComplete: 'https://portal.example.io/claim?code=ABCD-EFGH', pollToken: 'ph_poll_x', expiresIn: 900, interval: 5 };
    expect(ClaimStartSchema.parse(start)).toEqual(start);
    expect(ClaimStartSchema.safeParse({ ...start, interval: 0 }).success).toBe(false);
    expect(ClaimStartSchema.safeParse({ ...start, verificationUri: '/claim' }).success).toBe(false);
  });

  it('an error body has a code and a message', () => {
    expect(ErrorSchema.safeParse({ error: { code: 'not_found', message: 'device an1 does not exist', field: 'serial' } }).success).toBe(true);
    expect(ErrorSchema.safeParse({ error: { code: 'not_found' } }).success).toBe(false);
  });
});
