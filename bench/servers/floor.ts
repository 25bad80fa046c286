/**
 * The protocol's floor: the least a DDP server on `ws` must do — the `server_id` greeting,
 * `connect` answered with `connected` and a session id, a ping to each connected socket every
 * `--heartbeat-ms`, and, for load tests, any `method` answered with its params as the result
 * (then `updated`), any `sub` with `ready`, `ping` with `pong` — and nothing else (no guard, no
 * limits, no accounts). Its memory per idle connection shows how much of ddp-guard's is DDP
 * itself; being a DDP server that is not ddp-guard, it is what `ddp-guard load` is tested on too.
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
    const msg = JSON.parse(data.toString()) as { msg?: string; id?: string; params?: unknown };
    if (msg.msg === 'method') {
      ws.send(JSON.stringify({ msg: 'result', id: msg.id, result: msg.params ?? [] }));
      ws.send(JSON.stringify({ msg: 'updated', methods: [msg.id] }));
      return;
    }
    if (msg.msg === 'sub') return void ws.send(JSON.stringify({ msg: 'ready', subs: [msg.id] }));
    if (msg.msg === 'ping') return void ws.send(msg.id === undefined ? '{"msg":"pong"}' : JSON.stringify({ msg: 'pong', id: msg.id }));
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
