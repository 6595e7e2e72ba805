// CPU time from Linux /proc: utime + stime of a process (all its threads, /proc/<pid>/stat) or of
// one thread (/proc/<pid>/task/<tid>/stat), for benchmarks and labs that bill CPU to a process
// tree, a namespace or a single thread.
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x86-64 and arm64

/** utime + stime in seconds from a /proc stat file, or undefined when it cannot be read (gone, not Linux). */
export function statCpuSeconds(statFile: string): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(statFile, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which may itself contain spaces and parentheses; utime and
  // stime are fields 14 and 15 of the file.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** utime + stime of one process in seconds (all its threads), or 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`) ?? 0;
}
