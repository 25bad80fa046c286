/**
 * The baseline: the floor any JSON-over-WebSocket server pays. A plain `ws` server that parses
 * each frame `{id, params}` and answers `{id, result: params}`.
 */
import { WebSocketServer } from 'ws';
import { answerBenchMessages } from './ipc.js';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id: string; params: unknown };
    ws.send(JSON.stringify({ id: msg.id, result: msg.params }));
  });
});
wss.on('listening', () => {
  const address = wss.address();
  if (typeof address === 'object' && address !== null) process.stdout.write(`ready ${address.port}\n`);
});
answerBenchMessages();
