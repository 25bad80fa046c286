/**
 * The protocol's floor, for the idle scenario only: the least a DDP server on `ws` must do for
 * an idle client — the `server_id` greeting, `connect` answered with `connected` and a session
 * id, a ping to each connected socket every `--heartbeat-ms` — and nothing else (no guard, no
 * limits, no accounts). Its memory per connection shows how much of ddp-guard's is DDP itself.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { randomBytes } from 'node:crypto';
import { answerBenchMessages } from './ipc.js';

const heartbeatArg = process.argv.indexOf('--heartbeat-ms');
const heartbeatMs = heartbeatArg >= 0 ? Number(process.argv[heartbeatArg + 1]) : 15_000;

const sessions = new Map<WebSocket, string>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ws.send('{"server_id":"0"}');
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { msg?: string };
    if (msg.msg !== 'connect') return;
    const session = randomBytes(12).toString('base64url');
    sessions.set(ws, session);
    ws.send(JSON.stringify({ msg: 'connected', session }));
  });
  ws.on('close', () => sessions.delete(ws));
});
setInterval(() => {
  for (const ws of sessions.keys()) ws.send('{"msg":"ping"}');
}, heartbeatMs).unref();
wss.on('listening', () => {
  const address = wss.address();
  if (typeof address === 'object' && address !== null) process.stdout.write(`ready ${address.port}\n`);
});
answerBenchMessages();
