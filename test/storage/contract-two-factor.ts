/**
 * Contract tests: `TwoFactorStore`, including the replay guard and backup codes under
 * concurrency.
 */
import { expect } from 'chai';
import { StoreNotFoundError } from '../../server/storage/store-errors.js';
import { countWinners, makeUser, rejection, type StoreGetter } from './helpers.js';

/** Defines the `twoFactor` tests. */
export function twoFactorContract(store: StoreGetter): void {
  describe('twoFactor', () => {
    it('defaults to nothing enabled, for a new and for an unknown user', async () => {
      const u = await makeUser(store(), 'amy');
      for (const id of [u.id, 'unknown']) {
        expect(await store().twoFactor.get(id)).to.deep.equal({
          userId: id, totpEnabled: false, totpSecret: null, pendingTotpSecret: null,
          lastTotpStep: null, emailEnabled: false, backupCodesRemaining: 0,
        });
      }
    });

    it('enables TOTP only from a pending secret, moving it and storing backup codes', async () => {
      const u = await makeUser(store(), 'bea');
      expect(await store().twoFactor.enableTotp(u.id, ['x'])).to.equal(false);
      await store().twoFactor.setPendingTotpSecret(u.id, 'cipher-1');
      let s = await store().twoFactor.get(u.id);
      expect(s.pendingTotpSecret).to.equal('cipher-1');
      expect(s.totpEnabled).to.equal(false);
      expect(s.totpSecret).to.equal(null);

      expect(await store().twoFactor.enableTotp(u.id, ['b1', 'b2', 'b3'])).to.equal(true);
      s = await store().twoFactor.get(u.id);
      expect(s).to.include({ totpEnabled: true, totpSecret: 'cipher-1', pendingTotpSecret: null, backupCodesRemaining: 3 });
    });

    it('does not enable twice: a new pending secret never replaces the active one', async () => {
      const u = await makeUser(store(), 'cal');
      await store().twoFactor.setPendingTotpSecret(u.id, 'cipher-1');
      await store().twoFactor.enableTotp(u.id, ['b1']);
      await store().twoFactor.setPendingTotpSecret(u.id, 'cipher-2');
      expect(await store().twoFactor.enableTotp(u.id, ['n1', 'n2'])).to.equal(false);
      const s = await store().twoFactor.get(u.id);
      expect(s.totpSecret).to.equal('cipher-1');
      expect(s.backupCodesRemaining).to.equal(1);
      expect(await store().twoFactor.consumeBackupCode(u.id, 'b1')).to.equal(true);
    });

    it('enables from one pending secret: exactly one wins (started together; a real race only where the calls overlap: PostgreSQL, and SQLite in sqlite-race.test.ts)', async () => {
      const u = await makeUser(store(), 'cy');
      await store().twoFactor.setPendingTotpSecret(u.id, 'cipher');
      expect(await countWinners(20, () => store().twoFactor.enableTotp(u.id, ['b']))).to.equal(1);
    });

    it('disables TOTP, clearing secret, pending secret, last step and backup codes', async () => {
      const u = await makeUser(store(), 'dee');
      await store().twoFactor.setPendingTotpSecret(u.id, 'cipher-1');
      await store().twoFactor.enableTotp(u.id, ['b1', 'b2']);
      await store().twoFactor.recordTotpStep(u.id, 100);
      await store().twoFactor.setPendingTotpSecret(u.id, 'cipher-2');
      await store().twoFactor.setEmailEnabled(u.id, true);
      expect(await store().twoFactor.disableTotp(u.id)).to.equal(true);
      expect(await store().twoFactor.get(u.id)).to.deep.equal({
        userId: u.id, totpEnabled: false, totpSecret: null, pendingTotpSecret: null,
        lastTotpStep: null, emailEnabled: true, backupCodesRemaining: 0,
      });
      expect(await store().twoFactor.consumeBackupCode(u.id, 'b1')).to.equal(false);
      expect(await store().twoFactor.disableTotp(u.id)).to.equal(false);
    });

    it('accepts each TOTP step once, and never an older one', async () => {
      const u = await makeUser(store(), 'eli');
      expect(await store().twoFactor.recordTotpStep(u.id, 1000)).to.equal(true);
      expect(await store().twoFactor.recordTotpStep(u.id, 1000)).to.equal(false);
      expect(await store().twoFactor.recordTotpStep(u.id, 999)).to.equal(false);
      expect((await store().twoFactor.get(u.id)).lastTotpStep).to.equal(1000);
      expect(await store().twoFactor.recordTotpStep(u.id, 1001)).to.equal(true);
      expect((await store().twoFactor.get(u.id)).lastTotpStep).to.equal(1001);
    });

    it('20 uses of one TOTP step: exactly one accepted (started together; a real race only where the calls overlap: PostgreSQL, and SQLite in sqlite-race.test.ts)', async () => {
      const u = await makeUser(store(), 'fox');
      expect(await countWinners(20, () => store().twoFactor.recordTotpStep(u.id, 56_000_000))).to.equal(1);
      expect((await store().twoFactor.get(u.id)).lastTotpStep).to.equal(56_000_000);
    });

    it('keeps steps per user', async () => {
      const a = await makeUser(store(), 'gil');
      const b = await makeUser(store(), 'hue');
      expect(await store().twoFactor.recordTotpStep(a.id, 7)).to.equal(true);
      expect(await store().twoFactor.recordTotpStep(b.id, 7)).to.equal(true);
    });

    it('uses a backup code once, and only for its owner', async () => {
      const u = await makeUser(store(), 'ian');
      const o = await makeUser(store(), 'jay');
      await store().twoFactor.replaceBackupCodes(u.id, ['c1', 'c2', 'c3']);
      expect(await store().twoFactor.consumeBackupCode(o.id, 'c1')).to.equal(false);
      expect(await store().twoFactor.consumeBackupCode(u.id, 'wrong')).to.equal(false);
      expect(await store().twoFactor.consumeBackupCode(u.id, 'c2')).to.equal(true);
      expect(await store().twoFactor.consumeBackupCode(u.id, 'c2')).to.equal(false);
      expect((await store().twoFactor.get(u.id)).backupCodesRemaining).to.equal(2);
    });

    it('20 uses of one backup code: exactly one accepted (started together; a real race only where the calls overlap: PostgreSQL, and SQLite in sqlite-race.test.ts)', async () => {
      const u = await makeUser(store(), 'kit');
      await store().twoFactor.replaceBackupCodes(u.id, ['same', 'other']);
      expect(await countWinners(20, () => store().twoFactor.consumeBackupCode(u.id, 'same'))).to.equal(1);
      expect((await store().twoFactor.get(u.id)).backupCodesRemaining).to.equal(1);
    });

    it('replaces backup codes: the old ones stop working', async () => {
      const u = await makeUser(store(), 'lin');
      await store().twoFactor.replaceBackupCodes(u.id, ['old1', 'old2']);
      await store().twoFactor.replaceBackupCodes(u.id, ['new1', 'new2', 'new3', 'new3']);
      expect((await store().twoFactor.get(u.id)).backupCodesRemaining).to.equal(3);
      expect(await store().twoFactor.consumeBackupCode(u.id, 'old1')).to.equal(false);
      expect(await store().twoFactor.consumeBackupCode(u.id, 'new3')).to.equal(true);
    });

    it('turns email 2FA on and off without touching TOTP', async () => {
      const u = await makeUser(store(), 'moe');
      await store().twoFactor.setPendingTotpSecret(u.id, 'c');
      await store().twoFactor.enableTotp(u.id, []);
      await store().twoFactor.setEmailEnabled(u.id, true);
      expect(await store().twoFactor.get(u.id)).to.include({ emailEnabled: true, totpEnabled: true, totpSecret: 'c' });
      await store().twoFactor.setEmailEnabled(u.id, false);
      expect(await store().twoFactor.get(u.id)).to.include({ emailEnabled: false, totpEnabled: true });
    });

    it('rejects writes for an unknown user', async () => {
      expect(await rejection(store().twoFactor.setPendingTotpSecret('ghost', 'c'))).to.be.instanceOf(StoreNotFoundError);
      expect(await rejection(store().twoFactor.setEmailEnabled('ghost', true))).to.be.instanceOf(StoreNotFoundError);
      expect(await rejection(store().twoFactor.replaceBackupCodes('ghost', ['a']))).to.be.instanceOf(StoreNotFoundError);
      expect(await rejection(store().twoFactor.recordTotpStep('ghost', 1))).to.be.instanceOf(StoreNotFoundError);
      expect(await store().twoFactor.enableTotp('ghost', [])).to.equal(false);
      expect(await store().twoFactor.consumeBackupCode('ghost', 'a')).to.equal(false);
    });
  });
}
