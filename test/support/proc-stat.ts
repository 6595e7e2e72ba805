// CPU time from Linux /proc: utime + stime of a process (all its threads, /proc/<pid>/stat) or of
// one thread (/proc/<pid>/task/<tid>/stat), and a thread's scheduler times (schedstat), for
// benchmarks and labs that bill CPU to a process tree, a namespace or a single thread.
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x86-64 and arm64

/** utime + stime in seconds from a /proc stat file, or undefined when it cannot be read (gone, not Linux). */
export function statCpuSeconds(statFile: string): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(statFile, 'utf8');
  } catch {
    return undefined;
  }
  return cpuSecondsOf(stat);
}

/** utime + stime in seconds of a stat file's text. */
function cpuSecondsOf(stat: string): number {
  // Fields after the command name, which may itself contain spaces and parentheses; utime and
  // stime are fields 14 and 15 of the file.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** utime + stime of one process in seconds (all its threads), or 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`) ?? 0;
}

/**
 * CPU seconds of a process's threads summed by thread name (Linux comm), the main thread as
 * `main` (V8's and libuv's helper threads carry the process's name, `node`, like it; the hub names
 * its UDP ingress and PGlite threads `udp-ingress` and `pglite`); empty when /proc cannot be read.
 */
export function threadCpuSecondsByName(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    byName.set(name, (byName.get(name) ?? 0) + cpuSecondsOf(stat));
  }
  return byName;
}

/**
 * One thread's scheduler times from /proc/<pid>/task/<tid>/schedstat (the main thread when `tid`
 * is left out): ns on a CPU, and ns runnable but waiting in a run queue. Undefined when the file
 * cannot be read (the thread ended, not Linux, a kernel without schedstats).
 */
export function threadSchedNs(pid: number, tid = pid): { runNs: number; waitNs: number } | undefined {
  try {
    const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
    if (!Number.isFinite(runNs) || !Number.isFinite(waitNs)) return undefined;
    return { runNs: runNs!, waitNs: waitNs! };
  } catch {
    return undefined;
  }
}
