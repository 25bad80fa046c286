import { expect } from 'chai';
import { Admission, PasswordHasherBusyError } from '../../server/security/password-admission.js';

describe('security/password-admission: when a bcrypt job may wait', () => {
  it('admits at once while a worker is free, by count before any job was measured', () => {
    const a = new Admission({ size: 1, maxQueue: 2, maxWaitMs: 100 });
    expect(a.refusal(0, 1)).to.equal(null);
    expect(a.refusal(0, 0)).to.equal(null);
    expect(a.refusal(1, 0)).to.equal(null);
    const full = a.refusal(2, 0);
    expect(full).to.be.instanceOf(PasswordHasherBusyError);
    expect(full!.retryAfterMs).to.be.at.least(1);
  });

  it('refuses a job whose estimated wait passes maxWaitMs, with a retry time of the excess', () => {
    // Estimates may use half of maxWaitMs (ADMIT_SHARE): 250 ms here.
    const a = new Admission({ size: 2, maxQueue: 1000, maxWaitMs: 500 });
    a.recordJob(100);
    expect(a.jobMs()).to.equal(100);
    // 3 waiting on 2 workers: the 4th starts after about 2 jobs (200 ms): admitted.
    expect(a.estimatedWaitMs(3, 0)).to.equal(200);
    expect(a.refusal(3, 0)).to.equal(null);
    // 5 waiting: about 300 ms, 50 over.
    const late = a.refusal(5, 0);
    expect(late).to.be.instanceOf(PasswordHasherBusyError);
    expect(late!.retryAfterMs).to.equal(50);
    expect(late!.message).to.match(/wait of about 300 ms, at most 250/);
  });

  it('takes a running job that is past the average as the time per job (the machine slowed down)', () => {
    const a = new Admission({ size: 1, maxQueue: 1000, maxWaitMs: 1000 });
    a.recordJob(100);
    expect(a.refusal(2, 0, 50)).to.equal(null);
    expect(a.estimatedWaitMs(2, 0, 400)).to.equal(1200);
    expect(a.refusal(2, 0, 400)).to.be.instanceOf(PasswordHasherBusyError);
  });

  it('follows the time per job as a moving average', () => {
    const a = new Admission({ size: 1, maxQueue: 10, maxWaitMs: 1000 });
    a.recordJob(100);
    a.recordJob(200);
    expect(a.jobMs()).to.equal(120);
    expect(a.expired().retryAfterMs).to.equal(120);
  });

  it('learns from a job whose wait ran out: the jobs ahead of it took at least that long', () => {
    const a = new Admission({ size: 1, maxQueue: 100, maxWaitMs: 1000 });
    a.recordJob(50);
    expect(a.refusal(4, 0)).to.equal(null);
    // 4 jobs were ahead of one that waited 1000 ms: at least 200 ms each.
    a.expired(4, 1000);
    expect(a.jobMs()).to.equal(200);
    expect(a.refusal(4, 0)).to.be.instanceOf(PasswordHasherBusyError);
  });
});
