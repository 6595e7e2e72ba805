// How the hub process asks V8 to size its heap (main.ts at start; the hub bench's child too). V8
// picks the old generation's next limit from how fast the program allocates against how fast it
// collects; a hub allocates slowly, so V8 kept the limit ~10-30 % above the live heap, and every
// rekey's keypairs and handshake state that outlived a scavenge brought the next full collection
// closer. At 30,000 devices (a live heap of ~155 MB, 226 rekeys/s) that was a full mark of the
// whole heap every ~15-30 s: 8 in the 120 s rekey wave of the hub bench, with V8's helper threads
// at 5.8 % of a core. Letting the old generation grow to twice its live size before collecting
// again made it 1 mark in that window and the helper threads 4.1 %, for ~65 MB more RSS (809
// against 743 MiB).
import { setFlagsFromString } from 'node:v8';

/** The old generation's next limit as a percentage above its live size after a full collection. */
export const HEAP_GROWING_PERCENT = 100;

/** Applies the hub's heap sizing to this process (it is process-wide: call it from an entry point). */
export function tuneHeap(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
