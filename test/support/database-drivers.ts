// The database drivers a suite runs on: PGlite always, PostgreSQL as well when a server answers
// (a laptop without one skips those runs with the reason printed; in CI a missing server fails).
import type { DriverName } from '@porthole/db';
import { probePostgres } from '@porthole/db/testing';
import { requirementsMet } from './requirements.js';

/** ['pglite', 'postgres'] when PostgreSQL answers, else ['pglite']; `suite` names what is skipped. */
export async function databaseDrivers(suite: string): Promise<DriverName[]> {
  const pgProblem = await probePostgres();
  return requirementsMet(`${suite} on PostgreSQL`, { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];
}
