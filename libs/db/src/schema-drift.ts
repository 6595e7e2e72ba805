// Compares a live database with the drizzle schema through the catalogs (pg_attribute, pg_index,
// pg_constraint): the check that migrations applied to an empty database produce exactly the schema.
// drizzle-kit's own pushSchema cannot do this here (it drops query parameters on PGlite).
import { getTableConfig, PgTable, type PgColumn } from 'drizzle-orm/pg-core';
import { is, sql } from 'drizzle-orm';
import { resultRows, type Database } from './database.js';
import * as schema from './schema/index.js';

/** Catalog spelling of a drizzle column type (serials are integers with a sequence default). */
function catalogType(column: PgColumn): string {
  const t = column.getSQLType();
  return t === 'bigserial' ? 'bigint' : t === 'serial' ? 'integer' : t === 'smallserial' ? 'smallint' : t;
}

/** Human-readable differences between `db` (schema `public`) and the drizzle schema; empty when equal. */
export async function schemaDrift(db: Database): Promise<string[]> {
  const problems: string[] = [];
  const tables = (Object.values(schema) as unknown[]).filter((v): v is PgTable => is(v, PgTable));
  const columns = resultRows<{ table: string; column: string; type: string; notnull: boolean; hasdefault: boolean }>(
    await db.execute(sql`
      select c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type,
             a.attnotnull as notnull, a.atthasdef as hasdefault
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped`),
  );
  const indexes = resultRows<{ table: string; name: string; unique: boolean; primary: boolean }>(
    await db.execute(sql`
      select t.relname as table, i.relname as name, x.indisunique as unique, x.indisprimary as primary
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
      join pg_namespace n on n.oid = t.relnamespace where n.nspname = 'public'`),
  );
  const constraints = resultRows<{ table: string; name: string; type: string }>(
    await db.execute(sql`
      select t.relname as table, c.conname as name, c.contype as type
      from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = 'public' and c.contype in ('f', 'c', 'p', 'u')`),
  );

  const liveTables = new Set(columns.map((c) => c.table));
  const wantTables = new Set(tables.map((t) => getTableConfig(t).name));
  for (const t of liveTables) if (!wantTables.has(t)) problems.push(`table ${t} exists but is not in the schema`);

  for (const table of tables) {
    const cfg = getTableConfig(table);
    if (!liveTables.has(cfg.name)) {
      problems.push(`table ${cfg.name} is missing`);
      continue;
    }
    const live = new Map(columns.filter((c) => c.table === cfg.name).map((c) => [c.column, c]));
    for (const col of cfg.columns) {
      const got = live.get(col.name);
      live.delete(col.name);
      if (!got) {
        problems.push(`${cfg.name}.${col.name} is missing`);
        continue;
      }
      if (got.type !== catalogType(col)) problems.push(`${cfg.name}.${col.name} is ${got.type}, schema says ${catalogType(col)}`);
      const notNull = col.notNull || col.primary;
      if (got.notnull !== notNull) problems.push(`${cfg.name}.${col.name} nullability differs (db not null: ${got.notnull})`);
      const hasDefault = col.hasDefault || col.getSQLType().endsWith('serial');
      if (got.hasdefault !== hasDefault) problems.push(`${cfg.name}.${col.name} default differs (db has default: ${got.hasdefault})`);
    }
    for (const extra of live.keys()) problems.push(`${cfg.name}.${extra} exists but is not in the schema`);

    const liveIndexes = new Map(indexes.filter((i) => i.table === cfg.name && !i.primary).map((i) => [i.name, i]));
    for (const idx of cfg.indexes) {
      const name = idx.config.name!;
      const got = liveIndexes.get(name);
      liveIndexes.delete(name);
      if (!got) problems.push(`index ${name} on ${cfg.name} is missing`);
      else if (got.unique !== Boolean(idx.config.unique)) problems.push(`index ${name} uniqueness differs`);
    }
    for (const extra of liveIndexes.keys()) problems.push(`index ${extra} on ${cfg.name} is not in the schema`);

    const liveCons = new Map(constraints.filter((c) => c.table === cfg.name).map((c) => [c.name, c.type]));
    const want: [string, string][] = [
      ...cfg.foreignKeys.map((fk) => [fk.getName(), 'f'] as [string, string]),
      ...cfg.checks.map((ck) => [ck.name, 'c'] as [string, string]),
      ...cfg.primaryKeys.map((pk) => [pk.getName(), 'p'] as [string, string]),
      ...cfg.uniqueConstraints.map((u) => [u.getName()!, 'u'] as [string, string]),
    ];
    for (const [name, type] of want) {
      if (liveCons.get(name) !== type) problems.push(`constraint ${name} (${type}) on ${cfg.name} is missing`);
      liveCons.delete(name);
    }
    // A single-column primary key declared on the column is named <table>_pkey by PostgreSQL.
    for (const [name, type] of liveCons) {
      if (!(type === 'p' && name === `${cfg.name}_pkey` && cfg.columns.some((c) => c.primary))) {
        problems.push(`constraint ${name} on ${cfg.name} is not in the schema`);
      }
    }
  }
  return problems;
}
