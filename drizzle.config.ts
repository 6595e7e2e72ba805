// drizzle-kit configuration: `npm run db:generate` writes SQL migrations from the schema into
// migrations/ (committed as generated, append-only). Both drivers apply that same folder.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './libs/db/src/schema/index.ts',
  out: './migrations',
});
