/**
 * The `--app` of the capacity bench's `serve` processes: the shipped scenario's app (echo,
 * echo.guarded, the `bench` user) plus a stream anyone may read, `bench-fanout`, and the method
 * `fanout.say(text)` that emits `text` on it under the event name `room` (on every process,
 * through Redis).
 */
import type { GuardServer } from '../../server/index.js';
import shippedBenchApp from './shipped-app.js';

export default async function fleetBenchApp(server: GuardServer): Promise<void> {
  const fanout = server.stream('bench-fanout', { read: 'all' });
  server.methods({
    'fanout.say'(text: unknown) {
      fanout.emit('room', text);
      return true;
    },
  });
  await shippedBenchApp(server);
}
