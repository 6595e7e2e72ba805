// @porthole/api-contract: the hub's /api/v1 as one contract that the hub (validation, routing,
// OpenAPI), the CLI and the agent (typed and validated answers) all import. See README.md.
export * from './schemas.js';
export * from './organization-schemas.js';
export {
  operations,
  type ApiOperation,
  type HttpMethod,
  type OperationAuth,
  type OperationBody,
  type OperationId,
  type OperationParams,
  type OperationQuery,
  type OperationResponse,
  type Operations,
} from './operations.js';
export { buildOpenApiDocument } from './openapi.js';
