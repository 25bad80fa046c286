/**
 * The one heartbeat timer spreads its pass over small slices when there are many sessions
 * (a burst of thousands of pings stalls calls on other connections), and wakes once per pass
 * when there are few.
 */
import { expect } from 'chai';
import { Sweeper, type Sweepable } from '../../server/ddp/sweeper.js';

/** Sessions that count their sweeps, and the sizes of the synchronous batches (one per tick). */
function sessionsWithBatches(n: number): { sessions: Set<Sweepable & { swept: number }>; batches: number[] } {
  const batches: number[] = [];
  let inBatch = false;
  const sessions = new Set<Sweepable & { swept: number }>();
  for (let i = 0; i < n; i++) {
    const session = {
      swept: 0,
      sweep(): void {
        session.swept++;
        if (!inBatch) {
          inBatch = true;
          batches.push(0);
          setImmediate(() => { inBatch = false; });
        }
        batches[batches.length - 1]!++;
      },
    };
    sessions.add(session);
  }
  return { sessions, batches };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('heartbeat sweeper', () => {
  it('checks 1 000 sessions in slices of at most 64 per tick, every session within a pass', async () => {
    const { sessions, batches } = sessionsWithBatches(1000);
    // A 4 s heartbeat: a pass every 1 s, over ceil(1000 / 64) = 16 ticks.
    const sweeper = new Sweeper(sessions, [4000]);
    sweeper.start();
    await sleep(1300);
    sweeper.stop();
    expect(Math.max(...batches)).to.be.at.most(64);
    expect(batches.length).to.be.at.least(16);
    for (const s of sessions) expect(s.swept).to.be.at.least(1);
  });

  it('checks a few sessions together, once per pass (an idle server does not wake every few ms)', async () => {
    const { sessions, batches } = sessionsWithBatches(3);
    // A 400 ms heartbeat: a pass every 100 ms.
    const sweeper = new Sweeper(sessions, [400]);
    sweeper.start();
    await sleep(450);
    sweeper.stop();
    expect(batches.length).to.be.within(2, 5);
    expect(batches.every((b) => b === 3)).to.equal(true);
  });

  it('keeps pace with sessions added while a pass runs (a server filling up)', async () => {
    const { sessions, batches } = sessionsWithBatches(1065);
    const growing = new Set<Sweepable & { swept: number }>([...sessions].slice(0, 65));
    // A pass every 1 s: it starts over 65 sessions (2 ticks, 500 ms apart), and 1 000 more
    // arrive after its first tick. A pace chosen once per pass would take 16 s to reach them all.
    const sweeper = new Sweeper(growing, [4000]);
    sweeper.start();
    await sleep(100);
    for (const s of sessions) growing.add(s);
    await sleep(2300);
    sweeper.stop();
    expect(Math.max(...batches)).to.be.at.most(64);
    for (const s of sessions) expect(s.swept, 'every session is checked within about two passes').to.be.at.least(1);
  });

  it('stops: no sweep after stop()', async () => {
    const { sessions, batches } = sessionsWithBatches(10);
    const sweeper = new Sweeper(sessions, [40]);
    sweeper.start();
    await sleep(50);
    sweeper.stop();
    const seen = batches.length;
    await sleep(50);
    expect(batches.length).to.equal(seen);
  });
});
