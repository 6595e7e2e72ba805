// Builds the OpenAPI 3.1 document from the operations and the named zod schemas (JSON Schema
// 2020-12, which OpenAPI 3.1 uses as its schema dialect). The hub serves it at /api/v1/openapi.json.
import { z } from 'zod';
import { operations, type ApiOperation } from './operations.js';
import { apiSchemas } from './common-schemas.js';

const REF = '#/components/schemas/';

type Json = Record<string, unknown>;

function clean(schema: Json): Json {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/** A $ref for a named schema; otherwise the schema inline, named sub-schemas referenced. */
function schemaFor(schema: z.ZodType, io: 'input' | 'output'): Json {
  const named = apiSchemas.get(schema);
  if (named) return { $ref: `${REF}${named.id}` };
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', metadata: apiSchemas }) as Json;
  delete json.$defs;
  return JSON.parse(JSON.stringify(clean(json)).replaceAll('"#/$defs/', `"${REF}`)) as Json;
}

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
  return shape ?? {};
}

const ERRORS: Record<number, string> = {
  400: 'Invalid request: `error.field` names the offending field',
  401: 'Missing or invalid credentials',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflicts with existing state',
  429: 'Too many requests; see Retry-After',
};

export function buildOpenApiDocument(info: { version: string; serverUrl?: string }): Json {
  const components = z.toJSONSchema(apiSchemas, { uri: (id) => `${REF}${id}` }).schemas as Record<string, Json>;
  const paths: Record<string, Json> = {};
  for (const [operationId, def] of Object.entries(operations) as [string, ApiOperation][]) {
    const parameters = [
      ...Object.entries(objectShape(def.params)).map(([name, s]) => ({ name, in: 'path', required: true, schema: schemaFor(s, 'input') })),
      ...Object.entries(objectShape(def.query)).map(([name, s]) => ({
        name,
        in: 'query',
        required: !s.safeParse(undefined).success,
        schema: schemaFor(s, 'input'),
      })),
    ];
    const responses: Json = {};
    for (const [status, r] of Object.entries(def.responses)) {
      responses[status] = r.schema
        ? { description: r.description, content: { 'application/json': { schema: schemaFor(r.schema, 'output') } } }
        : { description: r.description };
    }
    const errorStatuses = [400, 429, ...(def.auth === 'none' ? [] : [401, 403]), 404, 409];
    for (const status of errorStatuses) {
      responses[String(status)] ??= { description: ERRORS[status], content: { 'application/json': { schema: { $ref: `${REF}Error` } } } };
    }
    paths[def.path] ??= {};
    paths[def.path]![def.method] = {
      operationId,
      summary: def.summary,
      tags: [def.tag],
      security: def.auth === 'none' ? [] : [{ bearerAuth: [] }],
      ...(def.auth === 'none' ? {} : { 'x-required-scope': def.auth }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(def.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaFor(def.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Porthole API',
      version: info.version,
      description:
        'Device registration and the owner claim flow (unauthenticated, rate-limited per address), and the admin API ' +
        '(Authorization: Bearer <API token of an administrator>). Every error is `{ error: { code, message, field? } }`.',
    },
    servers: [{ url: info.serverUrl ?? '/api/v1' }],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).map(([k, v]) => [k, clean(v)])),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (ph_api_…) of an administrator' } },
    },
  };
}
