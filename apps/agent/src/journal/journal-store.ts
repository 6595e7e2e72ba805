// The access journal kept on the device: visits the hub reports over the control channel
// (who, when, from where, what), bounded to the newest MAX_ENTRIES, in `<state-dir>/journal.json`
// written crash-safe like the state file (temp file, fsync, rename, directory fsync) but off the
// event loop, so a push never holds up the tunnel's packets. A damaged journal is set aside
// (renamed) and a new one started: unlike the state, it holds no key.
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { journalEntrySchema, type JournalEntry } from '@porthole/device-control';
import { removeStaleTempFiles, writeFileAtomic } from '../state/atomic-file.js';

export const JOURNAL_FILE = 'journal.json';
/** Visits kept; the oldest go first. */
export const MAX_JOURNAL_ENTRIES = 500;

const journalFileSchema = z.object({ version: z.literal(1), entries: z.array(journalEntrySchema) });

export class JournalStore {
  readonly path: string;
  #entries: JournalEntry[];
  readonly #max: number;
  /** The write under way, and whether entries changed after it took its copy. */
  #writing: Promise<void> | undefined;
  #dirty = false;

  private constructor(path: string, entries: JournalEntry[], max: number) {
    this.path = path;
    this.#entries = entries;
    this.#max = max;
  }

  /** Opens `<dir>/journal.json` (the state directory exists already); `problem` says why an old one was set aside. */
  static open(dir: string, max = MAX_JOURNAL_ENTRIES): { journal: JournalStore; problem?: string } {
    const path = join(dir, JOURNAL_FILE);
    removeStaleTempFiles(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return { journal: new JournalStore(path, [], max) };
    }
    let problem: string | undefined;
    try {
      const parsed = journalFileSchema.safeParse(JSON.parse(text));
      if (parsed.success) return { journal: new JournalStore(path, parsed.data.entries.slice(-max), max) };
      problem = `journal field "${parsed.error.issues[0]!.path.join('.')}": ${parsed.error.issues[0]!.message}`;
    } catch (err) {
      problem = `journal is not valid JSON (${(err as Error).message})`;
    }
    const aside = `${path}.damaged-${Date.now()}`;
    renameSync(path, aside);
    return { journal: new JournalStore(path, [], max), problem: `${problem}; kept as ${aside}` };
  }

  /** Newest first. */
  entries(): JournalEntry[] {
    return [...this.#entries].reverse();
  }

  /**
   * Adds visits or replaces them by id (a visit is sent when it starts and again when it ends).
   * entries() has them at once; the promise resolves once they are durable on disk. Pushes that
   * come while a write is under way are written together by one more write after it.
   */
  record(entries: JournalEntry[]): Promise<void> {
    const next = [...this.#entries];
    for (const e of entries) {
      const i = next.findIndex((x) => x.id === e.id);
      if (i === -1) next.push(e);
      else next[i] = e;
    }
    next.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    this.#entries = next.slice(-this.#max);
    this.#dirty = true;
    return this.#persist();
  }

  /** Resolves once everything recorded so far is on disk. */
  flushed(): Promise<void> {
    return this.#dirty || this.#writing ? this.#persist() : Promise.resolve();
  }

  #persist(): Promise<void> {
    const current = this.#writing;
    if (current !== undefined) return current.then(() => this.#persist(), () => this.#persist());
    if (!this.#dirty) return Promise.resolve();
    this.#dirty = false;
    const text = `${JSON.stringify({ version: 1, entries: this.#entries })}\n`;
    const write = writeFileAtomic(this.path, text, 0o600).finally(() => {
      this.#writing = undefined;
    });
    this.#writing = write;
    return write.catch((err: unknown) => {
      this.#dirty = true; // written again with the next push
      throw err;
    });
  }
}
