/**
 * The account-security page in a real headless Chromium (SPEC §5c): every screen driven the
 * way a user drives it, against a real server (manual clock, real SMTP sink). Each test also
 * checks that the page logged no error, broke no CSP rule and sent nothing off 127.0.0.1.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  answerDialog,
  badTotp,
  cleanup,
  connectClient,
  dialogClosed,
  gotoSignIn,
  launchChromium,
  nextEmailCode,
  nextTotp,
  openDialog,
  openPage,
  PASSWORD,
  publishScreenshot,
  screenshot,
  startWorld,
  statusSays,
  submitSignIn,
  type Watch,
  type World,
} from './support.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { ACCOUNT_PAGE_CSP } from '../../server/web/account-page.js';

describe('account page in headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let context: BrowserContext | undefined;
  let watch: Watch | undefined;

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  afterEach(async function () {
    const problems = watch?.problems() ?? '';
    await context?.close();
    context = undefined;
    watch = undefined;
    await cleanup();
    // Checked here so that every test proves it; a test that already failed keeps its own error.
    if (this.currentTest?.state === 'passed') expect(problems, 'console errors, CSP violations or requests off 127.0.0.1').to.equal('');
  });

  async function open(world: World): Promise<Page> {
    const opened = await openPage(browser, world);
    context = opened.context;
    watch = opened.watch;
    return opened.page;
  }

  /** Sign in; with an authenticator app, through the dialog. */
  async function signIn(page: Page, world: World): Promise<void> {
    await gotoSignIn(page, world);
    await submitSignIn(page, world);
    if (world.secret) {
      await answerDialog(page, nextTotp(world));
      await dialogClosed(page);
    }
    await statusSays(page, 'Signed in.');
    await page.locator('#who-name', { hasText: world.username }).waitFor();
  }

  it('enrols an authenticator app: QR code and key, a first code, backup codes shown once (copy, download), codes remaining', async () => {
    const world = await startWorld();
    const page = await open(world);
    await gotoSignIn(page, world);
    await screenshot(page, '01-sign-in');
    await submitSignIn(page, world);
    await statusSays(page, 'Signed in.');
    await page.locator('#totp-state', { hasText: 'Off' }).waitFor();
    await screenshot(page, '02-signed-in');

    // Adding a factor proves the one the user has: with none yet, the password.
    await page.click('#totp-start');
    const dialog = page.locator('#code-dialog');
    await dialog.waitFor();
    expect(await dialog.locator('#code-title').textContent()).to.equal('Confirm your password');
    await answerDialog(page, PASSWORD);
    await page.locator('#totp-enrol').waitFor();
    const src = await page.getAttribute('#totp-qr', 'src');
    expect(src, 'the QR code is a data: image').to.match(/^data:image\/png;base64,/);
    const secret = (await page.textContent('#totp-secret'))!.replace(/\s+/g, '');
    expect(secret).to.match(/^[A-Z2-7]{16,}$/);
    await screenshot(page, '03-enrol-authenticator', { top: true });
    publishScreenshot(await screenshot(page, 'account-page', { top: true, height: 600 }), 'account-page.png');

    // A wrong code is refused inline; the right one turns the app on.
    await page.fill('#totp-confirm-code', generateTotpCode(secret, world.clock.now() + 10 * 30_000));
    await page.click('#totp-confirm-form button[type=submit]');
    await page.locator('#totp-confirm-error', { hasText: 'That code is not valid.' }).waitFor();
    expect(await page.getAttribute('#totp-confirm-code', 'aria-invalid')).to.equal('true');
    await page.fill('#totp-confirm-code', generateTotpCode(secret, world.clock.now()));
    await page.click('#totp-confirm-form button[type=submit]');

    await page.locator('#backup-codes').waitFor();
    const codes = await page.locator('#backup-codes-list li').allTextContents();
    expect(codes).to.have.length(12);
    await screenshot(page, '04-backup-codes');

    await page.click('#backup-copy');
    await statusSays(page, 'Backup codes copied.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(codes.join('\n'));

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#backup-download')]);
    expect(download.suggestedFilename()).to.equal('backup-codes-127.0.0.1.txt');
    const saved = await readFile((await download.path())!, 'utf8');
    for (const code of codes) expect(saved).to.contain(code);

    // Shown once: after "I have saved them" the codes are gone from the page.
    await page.click('#backup-done');
    await page.locator('#backup-codes').waitFor({ state: 'hidden' });
    expect(await page.locator('#backup-codes-list li').count()).to.equal(0);
    await page.locator('#totp-state', { hasText: 'On' }).waitFor();
    await page.locator('#backup-remaining', { hasText: '12' }).waitFor();

    // The codes shown are the user's: one of them answers the next login's dialog.
    world.secret = secret;
    await page.click('#sign-out');
    await statusSays(page, 'Signed out.');
    await submitSignIn(page, world);
    await answerDialog(page, codes[0]!);
    await statusSays(page, 'Signed in.');
    await page.locator('#backup-remaining', { hasText: '11' }).waitFor();
  });

  it('replaces the backup codes and turns the app off, asking for a code (a wrong one is shown inline)', async () => {
    const world = await startWorld({ totp: true });
    const page = await open(world);
    await signIn(page, world);
    await page.locator('#totp-state', { hasText: 'On' }).waitFor();

    await page.click('#backup-regenerate');
    await answerDialog(page, badTotp(world));
    await page.locator('#code-error', { hasText: 'That code is not valid' }).waitFor();
    await page.fill('#code-input', nextTotp(world));
    await page.click('#code-submit');
    await dialogClosed(page);
    await page.locator('#backup-codes').waitFor();
    const codes = await page.locator('#backup-codes-list li').allTextContents();
    expect(codes).to.have.length(12);
    expect(codes).to.not.include(world.backupCodes![0]);
    await page.click('#backup-done');
    await page.locator('#backup-remaining', { hasText: '12' }).waitFor();

    await page.click('#totp-disable');
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'The authenticator app is off.');
    await page.locator('#totp-state', { hasText: 'Off' }).waitFor();
    await page.locator('#totp-start').waitFor();
  });

  it('signs out and in again through the code dialog: a wrong code is shown inline, the right one passes', async () => {
    const world = await startWorld({ totp: true });
    const page = await open(world);
    await signIn(page, world);
    await page.click('#sign-out');
    await statusSays(page, 'Signed out.');
    await page.locator('#sign-in-form').waitFor();

    await submitSignIn(page, world);
    const dialog = await openDialog(page);
    expect(await dialog.locator('#code-purpose').textContent()).to.equal('To sign in, confirm it is you.');
    expect(await dialog.locator('#code-message').textContent()).to.contain('authenticator app');
    expect(await dialog.locator('#code-label').textContent()).to.contain('authenticator app');
    expect(await page.evaluate(() => document.activeElement?.id), 'focus in the code field').to.equal('code-input');
    await screenshot(page, '05-code-dialog');

    await page.fill('#code-input', badTotp(world));
    await page.click('#code-submit');
    await page.locator('#code-error', { hasText: 'That code is not valid' }).waitFor();
    expect(await page.getAttribute('#code-input', 'aria-invalid')).to.equal('true');
    expect(await page.inputValue('#code-input'), 'the field is emptied for the next try').to.equal('');
    await screenshot(page, '06-wrong-code');

    await page.fill('#code-input', nextTotp(world));
    await page.click('#code-submit');
    await dialogClosed(page);
    await statusSays(page, 'Signed in.');
    await page.locator('#account').waitFor();

    // A reload keeps the sign-in (the resume token is in sessionStorage).
    await page.reload();
    await page.locator('#who-name', { hasText: world.username }).waitFor();
  });

  it('one code per sign-in: the demo call passes without the dialog; the sign-in code again is "already used", with the wait', async () => {
    // The default trusted-client window (the other tests here turn trust off).
    const world = await startWorld({ totp: true, server: { trustedClientMs: 300_000 } });
    const page = await open(world);
    await gotoSignIn(page, world);
    await submitSignIn(page, world);
    const signInCode = nextTotp(world);
    const signInStep = Math.floor(world.clock.now() / 30_000);
    await answerDialog(page, signInCode);
    await dialogClosed(page);
    await statusSays(page, 'Signed in.');
    // The guarded demo method: trusted by the sign-in's code, no dialog.
    await page.click('#demo-call');
    await page.locator('#demo-result', { hasText: 'Passed: the server answered ok' }).waitFor();
    expect(await page.isVisible('#code-dialog')).to.equal(false);
    // Creating a token always asks; the code still showing in the app was spent on the sign-in.
    world.clock.advance(12_000);
    await page.fill('#token-name', 'again');
    await page.click('#token-form button[type=submit]');
    await answerDialog(page, signInCode);
    const wait = Math.ceil(((signInStep + 1) * 30_000 - world.clock.now()) / 1000);
    await page.locator('#code-error', { hasText: `That code was already used. Wait for the next one from your app (in ${wait} seconds).` }).waitFor();
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await page.locator('#new-token').waitFor();
  });

  it('lets the user switch the dialog to an emailed code, read from the SMTP sink', async () => {
    const world = await startWorld({ totp: true, email: true });
    const page = await open(world);
    await gotoSignIn(page, world);
    await submitSignIn(page, world);
    const dialog = await openDialog(page);
    const before = world.sink.messages.length;
    await dialog.getByRole('button', { name: 'Send a code by email instead' }).click();
    await page.locator('#code-message', { hasText: 'We sent a 6-digit code to your email address' }).waitFor();
    await page.locator('#code-label', { hasText: 'Code from the email' }).waitFor();
    await dialog.getByRole('button', { name: 'Use the authenticator app instead' }).waitFor();
    await screenshot(page, '07-email-code');
    const { code, mail } = await nextEmailCode(world.sink, before);
    expect(mail.to).to.deep.equal([world.email]);
    // A wrong email code is shown inline, and the dialog stays on email codes.
    await answerDialog(page, code === '000000' ? '000001' : '000000');
    await page.locator('#code-error', { hasText: 'That code is not valid' }).waitFor();
    expect(await page.textContent('#code-label')).to.equal('Code from the email');
    await answerDialog(page, code);
    await dialogClosed(page);
    await statusSays(page, 'Signed in.');
  });

  it('creates a personal access token with bypass, shows it once, lists it, and revokes it', async () => {
    const world = await startWorld({ totp: true });
    const page = await open(world);
    await signIn(page, world);
    await page.locator('#tokens-empty').waitFor();

    await page.fill('#token-name', 'ci-bot');
    await page.check('#token-bypass');
    await page.click('#token-form button[type=submit]');
    const dialog = await openDialog(page);
    expect(await dialog.locator('#code-purpose').textContent()).to.equal('To create a personal access token, confirm it is you.');
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await page.locator('#new-token').waitFor();
    const token = (await page.textContent('#new-token-value'))!;
    expect(token.length).to.be.greaterThan(30);
    const row = page.locator('#tokens-body tr[data-token="ci-bot"]');
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).to.include('Yes');
    await screenshot(page, '08-new-token');

    // The token works, and bypasses the guard as asked.
    const bot = await connectClient(world.server);
    await bot.loginWithToken(token);
    expect(await bot.call('demo.guarded')).to.include({ ok: true });
    bot.close();

    // Shown once: gone from the page after "Done", and never in the list.
    await page.click('#new-token-done');
    await page.locator('#new-token').waitFor({ state: 'hidden' });
    expect(await page.locator('body').textContent()).to.not.contain(token);

    await row.getByRole('button', { name: 'Revoke token ci-bot' }).click();
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'Token “ci-bot” revoked.');
    await row.waitFor({ state: 'detached' });
    await page.locator('#tokens-empty').waitFor();

    const late = await connectClient(world.server);
    const refused = await late.loginWithToken(token).then(() => 'accepted', (error: { error?: unknown }) => String(error.error));
    expect(refused).to.not.equal('accepted');
    late.close();
  });

  it('turns email codes on with the password fallback; the guarded demo method then asks for the emailed code; turning them off asks again', async () => {
    const world = await startWorld();
    const page = await open(world);
    await signIn(page, world);
    await page.locator('#email-state', { hasText: 'Off' }).waitFor();
    expect(await page.textContent('#email-addresses')).to.contain(world.email);

    // No factor yet: the guard asks for the password (the page sends its sha-256 digest).
    await page.click('#email-enable');
    const dialog = await openDialog(page);
    expect(await dialog.locator('#code-title').textContent()).to.equal('Confirm your password');
    expect(await page.getAttribute('#code-input', 'type')).to.equal('password');
    expect(await dialog.locator('#code-switch button').count(), 'nothing to switch to').to.equal(0);
    await screenshot(page, '09-password-fallback');
    await answerDialog(page, 'not the password');
    await page.locator('#code-error', { hasText: 'That password is not correct.' }).waitFor();
    await page.fill('#code-input', PASSWORD);
    await page.click('#code-submit');
    await dialogClosed(page);
    await statusSays(page, 'Email codes are on.');
    await page.locator('#email-state', { hasText: 'On' }).waitFor();

    let before = world.sink.messages.length;
    await page.click('#demo-call');
    await openDialog(page);
    await page.locator('#code-message', { hasText: 'We sent a 6-digit code to your email address' }).waitFor();
    let { code } = await nextEmailCode(world.sink, before);
    await answerDialog(page, code);
    await dialogClosed(page);
    await page.locator('#demo-result', { hasText: 'Passed: the server answered ok' }).waitFor();
    await statusSays(page, 'The protected method passed.');

    before = world.sink.messages.length;
    await page.click('#email-disable');
    await openDialog(page);
    expect(await page.textContent('#code-purpose')).to.equal('To turn off email codes, confirm it is you.');
    ({ code } = await nextEmailCode(world.sink, before));
    await answerDialog(page, code);
    await dialogClosed(page);
    await statusSays(page, 'Email codes are off.');
    await page.locator('#email-state', { hasText: 'Off' }).waitFor();
  });

  it('shows a lock-out in the dialog, with the remaining wait, after too many wrong codes', async () => {
    const world = await startWorld({ totp: true, server: { maxFailedAttempts: 2, lockoutBaseMs: 120_000 } });
    const page = await open(world);
    await gotoSignIn(page, world);
    // A wrong password never reaches the dialog.
    await submitSignIn(page, world, 'not the password');
    await statusSays(page, 'Could not sign in: Something went wrong. Please check your credentials.');
    expect(await page.isVisible('#code-dialog')).to.equal(false);
    await submitSignIn(page, world);
    await answerDialog(page, badTotp(world));
    await page.locator('#code-error', { hasText: 'That code is not valid' }).waitFor();
    await page.fill('#code-input', badTotp(world));
    await page.click('#code-submit');
    await page.locator('#code-title', { hasText: 'Too many wrong codes' }).waitFor();
    expect(await page.textContent('#code-message')).to.equal('For your security, authenticator app codes are locked for your account. Try again in 2 minutes.');
    expect(await page.isVisible('#code-input'), 'no code field while locked').to.equal(false);
    expect(await page.textContent('#code-cancel')).to.equal('Close');
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('code-cancel');
    await statusSays(page, 'Could not sign in: Too many wrong codes: try again later.');
    await screenshot(page, '10-locked-out');
    await page.click('#code-cancel');
    await dialogClosed(page);
    await page.locator('#sign-in-form').waitFor();
  });

  it('works with the keyboard alone: sign in, open the dialog, Esc cancels, focus returns, focus is visible', async () => {
    const world = await startWorld();
    const page = await open(world);
    await gotoSignIn(page, world);
    expect(await page.evaluate(() => document.activeElement?.id), 'focus starts in the first field').to.equal('sign-in-user');
    await page.keyboard.type(world.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await statusSays(page, 'Signed in.');

    let reached = false;
    for (let i = 0; i < 40 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'demo-call');
    }
    expect(reached, 'Tab reaches the demo button').to.equal(true);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline, 'the focused button shows an outline').to.equal('solid');

    await page.keyboard.press('Enter');
    await openDialog(page);
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('code-input');
    await page.keyboard.press('Escape');
    await dialogClosed(page);
    await statusSays(page, 'The protected method failed: Cancelled.');
    expect(await page.evaluate(() => document.activeElement?.id), 'focus back on the button').to.equal('demo-call');

    // And again, answering with the keyboard: type the password, Enter.
    await page.keyboard.press('Enter');
    await openDialog(page);
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await dialogClosed(page);
    await statusSays(page, 'The protected method passed.');
  });

  it('runs under its Content-Security-Policy: the header is sent, nothing breaks it, and a violation would be seen', async () => {
    const world = await startWorld({ totp: true });
    const page = await open(world);
    const response = await page.goto(world.pageUrl);
    expect(response?.status()).to.equal(200);
    const headers = response!.headers();
    expect(headers['content-security-policy']).to.equal(ACCOUNT_PAGE_CSP);
    expect(headers['x-content-type-options']).to.equal('nosniff');
    await page.locator('#connection', { hasText: 'Connected' }).waitFor();
    await signIn(page, world);
    await page.click('#demo-call');
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await page.locator('#demo-result', { hasText: 'Passed' }).waitFor();
    expect(watch!.problems(), 'a clean run').to.equal('');

    // The watcher does see a violation: an inline script is refused by the policy and reported.
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.body.dataset.inline = "ran"';
      document.head.append(script);
      return document.body.dataset.inline ?? 'refused';
    });
    expect(ran).to.equal('refused');
    await page.waitForTimeout(100);
    expect(watch!.consoleErrors.join('\n')).to.match(/Content Security Policy/);
    watch!.consoleErrors.length = 0;
  });
});
