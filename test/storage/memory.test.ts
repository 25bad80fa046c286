/**
 * The memory store against the storage contract.
 */
import { expect } from 'chai';
import { createMemoryStore } from '../../server/storage/memory/index.js';
import { openStore } from '../../server/storage/open.js';
import { storeContract } from './contract.js';

storeContract('memory', async () => createMemoryStore());

describe('memory store', () => {
  it('is what openStore("memory") returns, and each store is separate', async () => {
    const a = await openStore('memory');
    const b = await openStore('memory');
    expect(a.kind).to.equal('memory');
    await a.users.create({ username: 'solo', emails: [], passwordHash: null });
    expect(await b.users.findByUsername('solo')).to.equal(null);
    await a.close();
    await b.close();
  });
});
