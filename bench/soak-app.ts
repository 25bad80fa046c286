/**
 * The `--app` module of `npm run soak`: what the soak load calls, plus `soak.stats`, which
 * reports the server process's memory, event-loop delay (since the previous call) and
 * `server.stats()` from inside the server.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { GuardServer } from '../server/index.js';

export default function soakApp(server: GuardServer): void {
  // The histogram holds the time between samples: the delay is that minus the resolution.
  const RESOLUTION_MS = 10;
  const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loop.enable();
  let tick = 0;
  server.methods({
    'soak.echo'(value: unknown) {
      return value;
    },
    'soak.guarded': {
      twoFactor: true,
      handler() {
        return 'ok';
      },
    },
    'soak.stats'() {
      const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
      const memory = process.memoryUsage();
      const out = {
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        loopP50: ms(loop.percentile(50)),
        loopP99: ms(loop.percentile(99)),
        loopMax: ms(loop.max),
        stats: server.stats(),
      };
      loop.reset();
      return out;
    },
  });
  // A feed whose documents change while subscribed.
  server.publish('soak.feed', function (n: unknown) {
    const count = Math.min(Math.max(Number(n) || 1, 1), 20);
    for (let i = 0; i < count; i++) this.added('feed', `d${i}`, { i, at: tick });
    const timer = setInterval(() => this.changed('feed', 'd0', { at: ++tick }), 200);
    this.onStop(() => clearInterval(timer));
    this.ready();
  });
}
