/**
 * The server restarts on the same port mid-session. With the same SQLite file the session
 * token survives: the client reconnects alone, resumes the login, gets its `users` document
 * back, re-subscribes, and every call settles (completed or `connection-lost`, queued ones
 * sent after the re-login). With a fresh database the token is refused: the client logs out
 * and stays connected.
 */
import path from 'node:path';
import { expect } from 'chai';
import type { ConnectionStatus, DdpClient, DdpError, LoginResult } from '../../client/node.js';
import type { GuardServer } from '../../server/index.js';
import {
  ManualClock,
  PASSWORD,
  T0,
  addUser,
  cleanup,
  connectClient,
  portOf,
  rejection,
  startGuardServer,
  stopServer,
  tempDir,
  waitUntil,
  within,
} from './support.js';

/** What one incarnation of the server saw. */
interface Seen {
  hangStarted: boolean;
  slowStarted: boolean;
}

/** Methods and a per-user publication; `generation` tells the two servers apart. */
function setup(generation: number, seen: Seen): (server: GuardServer) => void {
  return (server) => {
    server.methods({
      whoami() {
        return { userId: this.userId, generation };
      },
      // Never answers; unblocks so the next call on the connection can run.
      hang() {
        this.unblock();
        seen.hangStarted = true;
        return new Promise(() => {});
      },
      // Answers after 200 ms: the graceful shutdown lets it finish.
      slow() {
        seen.slowStarted = true;
        return new Promise((resolve) => setTimeout(() => resolve(`slow on ${generation}`), 200));
      },
    });
    server.publish('items', function () {
      if (this.userId !== null) {
        this.added('items', 'shared', { generation, userId: this.userId });
        this.added('items', `only-${generation}`, { generation });
      }
      this.ready();
    });
  };
}

describe('client e2e: server restart', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock(T0);
  });

  afterEach(cleanup);

  /** A client logged in as rita on `server`, subscribed to `items`, events recorded. */
  async function session(server: GuardServer, userId: string): Promise<{ client: DdpClient; statuses: ConnectionStatus[]; logins: LoginResult[]; logouts: number[]; sub: ReturnType<DdpClient['subscribe']> }> {
    const client = await connectClient(server);
    await within(client.loginWithPassword('rita', PASSWORD), 5_000, 'login');
    await waitUntil(() => client.collection('users').has(userId), 'the users document');
    const sub = client.subscribe('items');
    await within(sub.ready, 5_000, 'items ready');
    expect(client.collection('items').ids().sort()).to.deep.equal(['only-1', 'shared']);
    const statuses: ConnectionStatus[] = [];
    const logins: LoginResult[] = [];
    const logouts: number[] = [];
    client.on('status', (s) => statuses.push(s));
    client.on('login', (r) => logins.push(r));
    client.on('logout', () => logouts.push(1));
    return { client, statuses, logins, logouts, sub };
  }

  it('same database: resumes the login, the users document and the subscription; calls settle', async () => {
    const db = path.join(tempDir(), 'guard.sqlite');
    const seen1: Seen = { hangStarted: false, slowStarted: false };
    const first = await startGuardServer({ clock, db, shutdownTimeoutMs: 800, setup: setup(1, seen1) });
    const port = portOf(first);
    const userId = (await addUser(first, 'rita')).id;
    const { client, statuses, logins, logouts, sub } = await session(first, userId);
    const token = client.currentLogin!.token;

    // Two calls in flight when the server goes: one it finishes, one it never answers (made with
    // `retryable: false`, so it is not sent again after the reconnect: it fails instead).
    const hang = client.apply('hang', [], { retryable: false });
    const slow = client.call('slow');
    const hangOutcome = rejection(hang, 'the hanging call', 8_000);
    await waitUntil(() => seen1.hangStarted && seen1.slowStarted, 'both calls to start on the first server');

    await stopServer(first);
    expect(await within(slow, 1_000, 'the slow call')).to.equal('slow on 1');
    const lost = (await hangOutcome) as DdpError;
    expect(lost.error).to.equal('connection-lost');
    await waitUntil(() => client.status === 'reconnecting' || client.status === 'connecting', 'the client to start reconnecting');
    // Logged in locally all along: the token is kept for the re-login.
    expect(client.userId).to.equal(userId);

    // A call made while the server is down waits for the connection (and the re-login).
    const queued = client.call('whoami');

    const seen2: Seen = { hangStarted: false, slowStarted: false };
    await startGuardServer({ clock, db, port, setup: setup(2, seen2) });
    await waitUntil(() => client.status === 'connected' && logins.length === 1, 'the reconnect and re-login', 8_000);

    expect(logins[0]!.id).to.equal(userId);
    expect(logins[0]!.type).to.equal('resume');
    expect(logins[0]!.token).to.equal(token);
    expect(logouts).to.have.length(0);
    expect(client.userId).to.equal(userId);
    expect(statuses).to.include('reconnecting');
    expect(statuses.at(-1)).to.equal('connected');

    // The queued call ran on the second server, as the resumed user.
    expect(await within(queued, 5_000, 'the queued call')).to.deep.equal({ userId, generation: 2 });
    expect(await within(client.call('whoami'), 5_000, 'a new call')).to.deep.equal({ userId, generation: 2 });

    // The users document is back; the subscription was sent again and re-synced.
    await waitUntil(() => sub.isReady, 'the subscription to be ready again');
    await waitUntil(() => client.collection('items').has('only-2') && !client.collection('items').has('only-1'), 'the items resync');
    expect(client.collection('users').get(userId)?.username).to.equal('rita');
    expect(client.collection('items').get('shared')).to.deep.equal({ _id: 'shared', generation: 2, userId });
    expect(client.collection('items').ids().sort()).to.deep.equal(['only-2', 'shared']);
  });

  it('fresh database: the resume token is refused, the client logs out and stays usable', async () => {
    const seen1: Seen = { hangStarted: false, slowStarted: false };
    const first = await startGuardServer({ clock, setup: setup(1, seen1) });
    const port = portOf(first);
    const userId = (await addUser(first, 'rita')).id;
    const { client, logins, logouts, sub } = await session(first, userId);

    await stopServer(first);
    await startGuardServer({ clock, port, setup: setup(2, { hangStarted: false, slowStarted: false }) });
    await waitUntil(() => client.status === 'connected' && logouts.length === 1, 'the reconnect and the refused re-login', 8_000);

    expect(logins).to.have.length(0);
    expect(client.userId).to.equal(undefined);
    expect(client.currentLogin).to.equal(undefined);
    expect(await within(client.call('whoami'), 5_000, 'a call after the refused re-login')).to.deep.equal({ userId: null, generation: 2 });
    // Nothing of the old user survives the resync.
    await waitUntil(() => sub.isReady, 'the subscription to be ready again');
    await waitUntil(() => client.collection('users').size === 0, 'the users document to go');
    expect(client.collection('items').size).to.equal(0);
  });
});
