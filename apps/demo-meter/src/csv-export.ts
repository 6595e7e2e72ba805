// The "large CSV export": one row per simulated second, every row exactly 64 bytes, so a download
// of N MiB has a known length (Content-Length) and any row can be checked by its index. Produced
// chunk by chunk on demand (ReadableStream pull), never held in memory.
import type { MeterSimulation } from './simulation.js';

export const ROW_BYTES = 64;
export const CSV_HEADER = `${'row,timestamp,power_w,energy_kwh'.padEnd(ROW_BYTES - 1, ' ')}\n`;
const ROWS_PER_CHUNK = 1024;

/** Row `i` (0-based data row) of the export. */
export function csvRow(sim: MeterSimulation, i: number): string {
  const row = `${String(i).padStart(12, '0')},${new Date(sim.startMs + i * 1000).toISOString()},${sim
    .powerW(i)
    .toFixed(1)
    .padStart(11, '0')},${sim.energyKwhAt(i).toFixed(3).padStart(13, '0')}\n`;
  return row;
}

/** A stream of exactly `totalBytes` (a multiple of 64: header + rows). */
export function csvExportStream(sim: MeterSimulation, totalBytes: number): ReadableStream<Uint8Array> {
  const rows = totalBytes / ROW_BYTES - 1;
  let next = -1; // -1 = header
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (next >= rows) {
          controller.close();
          return;
        }
        let text = '';
        if (next === -1) {
          text = CSV_HEADER;
          next = 0;
        }
        const end = Math.min(rows, next + ROWS_PER_CHUNK);
        for (; next < end; next++) text += csvRow(sim, next);
        controller.enqueue(new TextEncoder().encode(text));
      },
    },
    { highWaterMark: 2 },
  );
}
