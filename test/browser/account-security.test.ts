/**
 * The account page's sessions, password and security log (issue 24) in a real headless
 * Chromium: sessions listed and one signed out from a second browser context (which is then
 * signed out), the password changed, a reset from the outbox mail to a signed-in page, and the
 * security log paged. Each test also checks that the pages logged no error, broke no CSP rule
 * and sent nothing off 127.0.0.1; each panel is photographed for docs/account-page-security.md.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  answerDialog,
  badTotp,
  cleanup,
  dialogClosed,
  gotoSignIn,
  launchChromium,
  nextTotp,
  openPage,
  PASSWORD,
  publishScreenshot,
  SCREENSHOTS,
  startWorld,
  statusSays,
  submitSignIn,
  type Watch,
  type World,
} from './support.js';
import { ACCOUNT_PAGE_CSP } from '../../server/web/account-page.js';

/** A port free right now (the reset link needs the server's URL before it starts). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The decoded text of the newest `.eml` in the outbox (quoted-printable undone). */
function newestMail(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  if (files.length === 0) throw new Error(`no mail in ${dir}`);
  const raw = readFileSync(join(dir, files[files.length - 1]!), 'utf8');
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function waitForMail(dir: string, before: number): Promise<string> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    let count = 0;
    try {
      count = readdirSync(dir).filter((f) => f.endsWith('.eml')).length;
    } catch {
      // Not created yet.
    }
    if (count > before) return newestMail(dir);
    if (Date.now() > deadline) throw new Error('no reset mail in the outbox');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('account page: sessions, password and security log, in headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let opened: { context: BrowserContext; watch: Watch }[] = [];

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  afterEach(async function () {
    const problems = opened.map((o) => o.watch.problems()).filter((p) => p !== '').join('\n');
    for (const o of opened) await o.context.close();
    opened = [];
    await cleanup();
    if (this.currentTest?.state === 'passed') expect(problems, 'console errors, CSP violations or requests off 127.0.0.1').to.equal('');
  });

  async function open(world: World): Promise<Page> {
    const o = await openPage(browser, world);
    opened.push(o);
    return o.page;
  }

  /** Sign in through the form and the code dialog. */
  async function signIn(page: Page, world: World): Promise<void> {
    await gotoSignIn(page, world);
    await submitSignIn(page, world);
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'Signed in.');
    await page.locator('#who-name', { hasText: world.username }).waitFor();
  }

  /**
   * Photograph one card (its top `maxHeight` pixels) for the docs; published to
   * docs/screenshots/ with UPDATE_README_SCREENSHOT=1.
   */
  async function shoot(page: Page, selector: string, name: string, maxHeight = 720): Promise<void> {
    await page.waitForTimeout(60);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${name}.png`);
    const card = page.locator(selector);
    await card.scrollIntoViewIfNeeded();
    const box = (await card.boundingBox())!;
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', fullPage: true, clip: { x: box.x, y: box.y + (await page.evaluate(() => window.scrollY)), width: box.width, height: Math.min(box.height, maxHeight) } });
    publishScreenshot(file, `${name}.png`);
  }

  /** A world with an authenticator app and the usual trust window (a sign-in's code lets the lists load). */
  function worldWithApp(extra: Parameters<typeof startWorld>[0] = {}): Promise<World> {
    return startWorld({ totp: true, ...extra, server: { trustedClientMs: 300_000, ...extra.server } });
  }

  it('lists the sessions, this one marked; signing another out (with a code) ends it in the other browser at once', async () => {
    const world = await worldWithApp();
    const laptop = await open(world);
    await signIn(laptop, world);
    const phone = await open(world);
    await signIn(phone, world);

    await laptop.click('#sessions-show');
    const rows = laptop.locator('#sessions-body tr');
    await rows.nth(2).waitFor();
    // This browser, the other one, and the Node client that set the app up (never signed out).
    expect(await rows.count()).to.equal(3);
    expect(await laptop.locator('#sessions-body tr[data-current="true"] .badge').textContent()).to.equal('This session');
    expect(await rows.first().getAttribute('data-current')).to.equal('true');
    const other = laptop.locator('#sessions-body tr:not([data-current])', { hasText: 'Headless Chrome on Linux' });
    expect(await other.count()).to.equal(1);
    expect(await other.locator('td').first().textContent()).to.equal('127.0.0.1');
    // The page holds ids, never tokens.
    const token = await laptop.evaluate(() => sessionStorage.getItem('ddp-guard.resumeToken'));
    expect(token).to.be.a('string');
    expect(await laptop.locator('#sessions-section').innerHTML()).to.not.include(token!);
    await shoot(laptop, '#sessions-section', 'account-sessions');

    // Signing out asks for the code, even right after a verified sign-in.
    await other.locator('button', { hasText: 'Sign out' }).click();
    await answerDialog(laptop, nextTotp(world));
    await dialogClosed(laptop);
    await statusSays(laptop, 'The session on Headless Chrome on Linux is signed out.');
    await other.waitFor({ state: 'detached' });
    expect(await rows.count()).to.equal(2);

    // The other browser is cut off: its connection closed, its token refused on reconnect.
    await phone.locator('#sign-in-form').waitFor({ state: 'visible' });
    await statusSays(phone, 'This session was signed out');
    expect(await phone.evaluate(() => sessionStorage.getItem('ddp-guard.resumeToken'))).to.equal(null);
    await laptop.click('#demo-call');
    await laptop.locator('#demo-result', { hasText: 'Passed' }).waitFor();
  });

  it('"Sign out all other sessions" signs out every other browser, after the code', async () => {
    const world = await worldWithApp();
    const main = await open(world);
    await signIn(main, world);
    const others = [await open(world), await open(world)];
    for (const p of others) await signIn(p, world);
    await main.click('#sessions-show');
    await main.locator('#sessions-body tr').nth(3).waitFor();
    await main.click('#sessions-others');
    await answerDialog(main, nextTotp(world));
    await statusSays(main, 'All your other sessions are signed out.');
    expect(await main.locator('#sessions-body tr').count()).to.equal(1);
    expect(await main.isHidden('#sessions-others')).to.equal(true);
    for (const p of others) await p.locator('#sign-in-form').waitFor({ state: 'visible' });
  });

  it('changes the password with the current one and the code; other sessions are signed out, and the page says so', async () => {
    const world = await worldWithApp();
    const page = await open(world);
    await signIn(page, world);
    const elsewhere = await open(world);
    await signIn(elsewhere, world);

    await page.fill('#password-current', PASSWORD);
    await page.fill('#password-new', 'a fresh passphrase 42');
    await page.fill('#password-confirm', 'a fresh passphrase 4');
    await page.click('#password-submit');
    await page.locator('#password-error', { hasText: 'The two new passwords differ.' }).waitFor();
    await shoot(page, '#password-section', 'account-password');

    // A wrong current password: refused after the code, shown inline.
    await page.fill('#password-current', 'not my password');
    await page.fill('#password-confirm', 'a fresh passphrase 42');
    await page.click('#password-submit');
    await answerDialog(page, nextTotp(world));
    await page.locator('#password-error', { hasText: 'Incorrect password' }).waitFor();
    expect(await elsewhere.isVisible('#account')).to.equal(true);

    // The policy (#13) answers on the page too.
    await page.fill('#password-current', PASSWORD);
    await page.fill('#password-new', '1qaz2wsx3edc');
    await page.fill('#password-confirm', '1qaz2wsx3edc');
    await page.click('#password-submit');
    await answerDialog(page, nextTotp(world));
    await page.locator('#password-error', { hasText: 'most common passwords' }).waitFor();

    await page.fill('#password-current', PASSWORD);
    await page.fill('#password-new', 'a fresh passphrase 42');
    await page.fill('#password-confirm', 'a fresh passphrase 42');
    await page.click('#password-submit');
    await answerDialog(page, nextTotp(world));
    await statusSays(page, 'Password changed. Your other sessions were signed out.');
    expect(await page.inputValue('#password-current')).to.equal('');
    await elsewhere.locator('#sign-in-form').waitFor({ state: 'visible' });
    await statusSays(elsewhere, 'This session was signed out');

    // The new password signs in; the old one no longer does.
    await submitSignIn(elsewhere, world, PASSWORD);
    await statusSays(elsewhere, /Could not sign in/);
    await submitSignIn(elsewhere, world, 'a fresh passphrase 42');
    await answerDialog(elsewhere, nextTotp(world));
    await statusSays(elsewhere, 'Signed in.');
  });

  it('resets the password from the outbox mail: "Forgot password?", the link, a new password, the code, signed in; other sessions end', async () => {
    const port = await freePort();
    const outbox = mkdtempSync(join(tmpdir(), 'ddp-guard-reset-outbox-'));
    const world = await worldWithApp({ server: { port, publicUrl: `http://127.0.0.1:${port}`, smtpUrl: null, outboxDir: outbox } });
    const before = await open(world);
    await signIn(before, world);

    const page = await open(world);
    await gotoSignIn(page, world);
    await page.click('#forgot-open');
    await page.fill('#forgot-email', 'nobody-like-that');
    await page.click('#forgot-form button[type=submit]');
    await page.locator('#forgot-error', { hasText: 'Enter the email address of your account.' }).waitFor();
    await page.fill('#forgot-email', world.email);
    await shoot(page, '#sign-in-section', 'account-forgot-password');
    const mailsBefore = 0;
    await page.click('#forgot-form button[type=submit]');
    await statusSays(page, `If ${world.email} belongs to an account, a reset link is on its way.`);

    const mail = await waitForMail(outbox, mailsBefore);
    const link = new RegExp(`http://127\\.0\\.0\\.1:${port}/account/#/reset-password/[A-Za-z0-9_-]+`).exec(mail)?.[0];
    expect(link, 'the reset link in the mail').to.be.a('string');
    await page.goto(link!);
    await page.locator('#reset-form').waitFor();
    // The token leaves the address bar at once.
    expect(page.url()).to.equal(world.pageUrl);
    await page.fill('#reset-user', world.username);
    await page.fill('#reset-password', 'a brand new passphrase');
    await page.fill('#reset-confirm', 'a brand new passphrase');
    await shoot(page, '#reset-section', 'account-reset-password');
    await page.click('#reset-submit');
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'Password changed and signed in. Your other sessions were signed out.');
    await page.locator('#who-name', { hasText: world.username }).waitFor();
    expect(await page.isHidden('#reset-section')).to.equal(true);
    await before.locator('#sign-in-form').waitFor({ state: 'visible' });

    // The link worked once.
    await page.click('#sign-out');
    await statusSays(page, 'Signed out.');
    await page.goto(link!);
    await page.fill('#reset-user', world.username);
    await page.fill('#reset-password', 'yet another passphrase');
    await page.fill('#reset-confirm', 'yet another passphrase');
    await page.click('#reset-submit');
    await page.locator('#reset-error', { hasText: 'Token expired' }).waitFor();

    const response = await page.request.get(world.pageUrl);
    expect(response.headers()['content-security-policy']).to.equal(ACCOUNT_PAGE_CSP);
  });

  it('shows the security log newest first, with wrong codes and where from, a page at a time', async () => {
    const world = await worldWithApp();
    // Older history to page through: 25 sign-ins from a phone, a day ago.
    const services = await world.server.services.get();
    const alice = (await services.store.users.findByUsername(world.username))!;
    for (let i = 0; i < 25; i++) {
      await services.store.audit.append({
        at: new Date(world.clock.now() - 86_400_000 + i * 60_000), userId: alice.id, action: 'user.login',
        clientAddress: '203.0.113.5', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
        details: { via: 'password', twoFactor: true },
      });
    }
    const page = await open(world);
    await gotoSignIn(page, world);
    await submitSignIn(page, world);
    await answerDialog(page, badTotp(world));
    await page.locator('#code-error', { hasText: 'That code is not valid' }).waitFor();
    const good = nextTotp(world);
    await page.fill('#code-input', good);
    await page.click('#code-submit');
    await statusSays(page, 'Signed in.');

    await page.click('#log-show');
    const rows = page.locator('#log-body tr');
    await rows.nth(19).waitFor();
    expect(await rows.count()).to.equal(20);
    const what = await page.locator('#log-body tr td:nth-child(2)').allTextContents();
    expect(what.slice(0, 2)).to.deep.equal(['Signed in with the password and a second factor', 'Wrong authenticator app code']);
    expect(what).to.include('Authenticator app turned on');
    expect(await rows.nth(1).locator('td').nth(2).textContent()).to.equal('127.0.0.1Headless Chrome on Linux');
    const text = await page.locator('#log-section').innerText();
    expect(text).to.not.include(good);
    expect(text).to.not.include(world.backupCodes![0]!);
    await shoot(page, '#log-section', 'account-security-log', 560);

    await page.click('#log-more');
    await rows.nth(20).waitFor();
    const all = await page.locator('#log-body tr td:nth-child(2)').allTextContents();
    // Sign-in, wrong code, 3 from the set-up (sign-in, set-up started, app on), 25 older.
    expect(all).to.have.length(30);
    expect(all.slice(-1)).to.deep.equal(['Signed in with the password and a second factor']);
    expect(await page.locator('#log-body tr').last().locator('td').nth(2).textContent()).to.equal('203.0.113.5Safari on iOS');
    expect(await page.isHidden('#log-more')).to.equal(true);
  });
});
