// The device's access journal on disk: visits replaced by id, bounded to the newest, kept across
// a reopen, written atomically (no temp file left), a damaged file set aside instead of crashing.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEntry } from '@porthole/device-control';
import { JOURNAL_FILE, JournalStore } from './journal-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'porthole-journal-'));
  dirs.push(d);
  return d;
};

const entry = (i: number, patch: Partial<JournalEntry> = {}): JournalEntry => ({
  id: `v${i}`,
  startedAt: new Date(Date.UTC(2026, 11, 5, 8, i)).toISOString(),
  lastAt: new Date(Date.UTC(2026, 11, 5, 8, i)).toISOString(),
  ended: false,
  user: null,
  clientIp: '198.51.100.1',
  kind: 'http',
  port: 80,
  requests: 1,
  refused: 0,
  bytesIn: 0,
  bytesOut: 0,
  ...patch,
});

describe('JournalStore', () => {
  it('replaces visits by id, keeps the newest N, survives a reopen, newest first', async () => {
    const d = dir();
    const { journal } = JournalStore.open(d, 3);
    await journal.record([entry(1), entry(2)]);
    await journal.record([entry(1, { ended: true, requests: 5 }), entry(3), entry(4)]);
    expect(journal.entries().map((e) => e.id)).toEqual(['v4', 'v3', 'v2']);
    const reopened = JournalStore.open(d, 3).journal;
    expect(reopened.entries()).toEqual(journal.entries());
    expect(readdirSync(d)).toEqual([JOURNAL_FILE]);
    expect(statSync(join(d, JOURNAL_FILE)).mode & 0o777).toBe(0o600);
  });

  it('sets a damaged journal aside and starts a new one', async () => {
    const d = dir();
    writeFileSync(join(d, JOURNAL_FILE), '{"version":1,"entries":[{"id":');
    const { journal, problem } = JournalStore.open(d);
    expect(problem).toMatch(/not valid JSON.*kept as .*journal\.json\.damaged-/);
    expect(journal.entries()).toEqual([]);
    await journal.record([entry(1)]);
    expect(JSON.parse(readFileSync(join(d, JOURNAL_FILE), 'utf8')).entries).toHaveLength(1);
    expect(readdirSync(d).some((n) => n.startsWith(`${JOURNAL_FILE}.damaged-`))).toBe(true);
  });

  it('pushes made while a write is under way are all on disk once each resolves', async () => {
    const d = dir();
    const { journal } = JournalStore.open(d);
    const writes = [journal.record([entry(1)]), journal.record([entry(2)]), journal.record([entry(3), entry(1, { ended: true })])];
    // In memory at once, before any write finished.
    expect(journal.entries().map((e) => e.id)).toEqual(['v3', 'v2', 'v1']);
    await writes[1];
    const onDisk = () => (JSON.parse(readFileSync(join(d, JOURNAL_FILE), 'utf8')).entries as JournalEntry[]).map((e) => e.id);
    expect(onDisk()).toEqual(expect.arrayContaining(['v1', 'v2']));
    await Promise.all(writes);
    expect(onDisk()).toEqual(['v1', 'v2', 'v3']);
    expect(JournalStore.open(d).journal.entries()[2]!.ended).toBe(true);
    await journal.flushed();
    expect(readdirSync(d)).toEqual([JOURNAL_FILE]);
  });

  it('a failed write rejects its push; the next push writes everything', async () => {
    const d = dir();
    const { journal } = JournalStore.open(d);
    rmSync(d, { recursive: true });
    await expect(journal.record([entry(1)])).rejects.toThrow();
    mkdirSync(d);
    await journal.record([entry(2)]);
    expect(JournalStore.open(d).journal.entries().map((e) => e.id)).toEqual(['v2', 'v1']);
  });
});
