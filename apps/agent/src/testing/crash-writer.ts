// Child process for state/state-crash.test.ts: rewrites the state as fast as it can until killed.
// Each write stores a payload derived from its generation so the parent can check consistency.
import { StateStore } from '../state/state-store.js';

const dir = process.argv[2]!;
const store = StateStore.open(dir);
let announced = false;
for (;;) {
  const gen = store.state.generation + 1;
  // 64–320 KiB per write so a kill often lands inside write()/fsync().
  const size = 65536 + ((gen * 7919) % 262144);
  store.update((s) => {
    s.pins = { 'https://pad.invalid': `${String(gen % 10).repeat(size)}#${gen}` };
    s.enabled = gen % 2 === 0;
  });
  if (!announced) {
    process.stdout.write('ready\n');
    announced = true;
  }
}
