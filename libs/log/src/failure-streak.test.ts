import { describe, expect, it } from 'vitest';
import { failureStreak } from './failure-streak.js';
import { memoryLogger } from './logger.js';

describe('failureStreak', () => {
  it('warns on the first failure, repeats at debug with a reminder each remindMs, and says once when it works again', () => {
    const log = memoryLogger('debug');
    let t = 1_000;
    const streak = failureStreak(log, { failed: 'peer sync failed', recovered: 'peer sync works again' }, { remindMs: 60_000, now: () => t });
    streak.succeeded(); // nothing to end
    for (let i = 0; i < 90; i++, t += 1_000) streak.failed(new Error('connect ECONNREFUSED'));
    expect(streak.failures).toBe(90);
    const warns = log.records.filter((r) => r.level === 'warn');
    expect(warns.map((r) => [r.msg, r.err, r.failures])).toEqual([
      ['peer sync failed', 'Error: connect ECONNREFUSED', undefined],
      ['peer sync failed', 'Error: connect ECONNREFUSED', 61],
    ]);
    expect(warns[1]!.failingForMs).toBe(60_000);
    expect(log.records.filter((r) => r.level === 'debug')).toHaveLength(88);
    streak.succeeded();
    streak.succeeded();
    expect(streak.failures).toBe(0);
    const infos = log.records.filter((r) => r.level === 'info');
    expect(infos).toEqual([expect.objectContaining({ msg: 'peer sync works again', failures: 90, failedForMs: 90_000 })]);
    // A new streak warns again at once.
    streak.failed('again', { kind: 'x' });
    expect(log.records.at(-1)).toMatchObject({ level: 'warn', msg: 'peer sync failed', err: 'again', kind: 'x' });
  });

  it('logs nothing without a logger, and still counts', () => {
    const streak = failureStreak(undefined, { failed: 'x', recovered: 'y' });
    streak.failed(new Error('e'));
    expect(streak.failures).toBe(1);
  });
});
