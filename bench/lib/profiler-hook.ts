/**
 * Preloaded into a server child by `npm run bench -- --profile`: the first SIGUSR2 starts V8's
 * CPU profiler (the one `node --cpu-prof` uses), the second stops it and writes the profile to
 * BENCH_PROFILE_OUT, so the profile covers the load run only, not start-up or warm-up.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.BENCH_PROFILE_OUT;
const intervalUs = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 250);
if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: intervalUs }, () =>
          session.post('Profiler.start'),
        ),
      );
      return;
    }
    session.post('Profiler.stop', (err, result) => {
      if (err) throw err;
      writeFileSync(`${out}.tmp`, JSON.stringify(result.profile));
      renameSync(`${out}.tmp`, out);
    });
  });
}
