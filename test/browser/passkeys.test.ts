/**
 * Passkeys on the account page, in headless Chromium with a virtual authenticator (Chrome
 * DevTools Protocol `WebAuthn.addVirtualAuthenticator`: CTAP2, internal transport, resident
 * keys, user verification). The page is served at `http://localhost:<port>`: an IP address is
 * not a valid WebAuthn RP ID, so the server's `webauthnRpId` is `localhost` and its only
 * origin that page's. The flow: sign in with the password and the app, add a passkey (the
 * app's code proves it), rename it (the passkey is asked, first), sign out, sign in with the
 * passkey alone, a guarded method asks for the passkey first and takes it, remove it (with the
 * app's code, the alternative the dialog offers), and the list is empty. The server's store
 * and audit trail are checked at each step, not only the page.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { freePort } from '../helpers/ports.js';
import { findRepoRoot } from '../docs/repo-root.js';
import { codeBlocks } from '../docs/readme-commands.js';
import {
  answerDialog,
  cleanup,
  dialogClosed,
  PASSWORD,
  launchChromium,
  nextTotp,
  openDialog,
  openPage,
  publishScreenshot,
  screenshot,
  startWorld,
  statusSays,
  submitSignIn,
  type Watch,
  type World,
} from './support.js';

const root = findRepoRoot(import.meta.url);
/** The marker of the docs/passkeys.md block this file runs (the docs tests skip it). */
const DOCS_MARKER = 'skip (run in Chromium by test/browser/passkeys.test.ts)';

/**
 * The docs/passkeys.md block marked {@link DOCS_MARKER}, bundled for the browser as a reader's
 * page would be: `ddp-guard/client` is the package's client, and the block's `client` is a
 * `DdpClient` signed in with the password (the fallback answers the factor change: the user
 * has no factor yet). Its signed-in user is left in `window.docsExample`.
 */
async function docsExampleBundle(username: string): Promise<string> {
  const blocks = codeBlocks(readFileSync(join(root, 'docs', 'passkeys.md'), 'utf8')).filter((b) => b.marker === DOCS_MARKER);
  if (blocks.length !== 1) throw new Error(`expected one block marked "${DOCS_MARKER}" in docs/passkeys.md, found ${blocks.length}`);
  const source = [
    "import { DdpClient as DocsClient, sha256Hex as docsSha256 } from 'ddp-guard/client';",
    `const client = new DocsClient(\`ws://\${location.host}/websocket\`, { onTwoFactorRequired: () => ({ code: docsSha256(${JSON.stringify(PASSWORD)}), method: 'password' }) });`,
    'await client.connect();',
    `await client.loginWithPassword(${JSON.stringify(username)}, ${JSON.stringify(PASSWORD)});`,
    ...blocks[0]!.lines,
    '(window as unknown as { docsExample: unknown }).docsExample = { userId: client.userId };',
  ].join('\n');
  const out = await build({
    stdin: { contents: source, loader: 'ts', resolveDir: root, sourcefile: 'docs-passkeys-example.ts' },
    absWorkingDir: root,
    alias: { 'ddp-guard/client': join(root, 'client', 'index.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111'],
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/** What the virtual authenticator holds (CDP `WebAuthn.getCredentials`). */
interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  userHandle?: string;
  signCount: number;
}

describe('passkeys on the account page (headless Chromium, virtual authenticator)', function () {
  this.timeout(90_000);
  let browser: Browser;
  let context: BrowserContext | undefined;
  let watch: Watch | undefined;
  /** The docs example's page is the server's 404 (and so is its favicon): those two messages are expected. */
  let on404Page = false;

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  afterEach(async function () {
    // The page is on localhost here (the RP ID), so "off 127.0.0.1" means off localhost too.
    const consoleErrors = (watch?.consoleErrors ?? []).filter((t) => !(on404Page && /status of 404/.test(t)));
    on404Page = false;
    const problems = watch ? [...consoleErrors.map((t) => `console: ${t}`), ...watch.pageErrors.map((t) => `page error: ${t}`), ...watch.offsite.filter((u) => new URL(u).hostname !== 'localhost').map((u) => `request off localhost: ${u}`)].join('\n') : '';
    await context?.close();
    context = undefined;
    watch = undefined;
    await cleanup();
    if (this.currentTest?.state === 'passed') expect(problems, 'console errors, CSP violations or requests off localhost').to.equal('');
  });

  /** A world whose page is at http://localhost:<port>/account/, with the RP ID and origin to match, and TOTP on (unless `totp` is false). */
  async function localhostWorld(totp = true): Promise<World & { origin: string }> {
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    const world = await startWorld({ totp, server: { port, webauthnRpId: 'localhost', webauthnOrigins: [origin] } });
    return { ...world, pageUrl: `${origin}/account/`, origin };
  }

  /** A page with a CTAP2 platform authenticator that holds resident keys and verifies its user. */
  async function openWithAuthenticator(world: World): Promise<{ page: Page; cdp: CDPSession; authenticatorId: string }> {
    const opened = await openPage(browser, world);
    context = opened.context;
    watch = opened.watch;
    const cdp = await opened.page.context().newCDPSession(opened.page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { page: opened.page, cdp, authenticatorId };
  }

  async function credentials(cdp: CDPSession, authenticatorId: string): Promise<VirtualCredential[]> {
    return ((await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: VirtualCredential[] }).credentials;
  }

  /** The dialog asks for the passkey first: no code field, the main button is the passkey, the app is the alternative. */
  async function expectPasskeyFirst(page: Page, purpose: RegExp): Promise<void> {
    const dialog = page.locator('#code-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.locator('#code-submit:enabled', { hasText: 'Use your passkey' }).waitFor();
    expect(await page.locator('#code-title').textContent()).to.equal('Confirm it is you with your passkey');
    expect(await page.locator('#code-purpose').textContent()).to.match(purpose);
    expect(await page.locator('#code-entry').isHidden(), 'no code field for a passkey').to.equal(true);
    expect(await page.locator('#code-switch button').allTextContents()).to.deep.equal(['Use the authenticator app instead']);
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('code-submit');
  }

  it('adds, renames, signs in without a password, answers a guarded call and is removed', async () => {
    const world = await localhostWorld();
    const services = await world.server.services.get();
    const user = (await services.store.users.findByUsername(world.username))!;
    const { page, cdp, authenticatorId } = await openWithAuthenticator(world);
    const audits = async (action: string): Promise<number> => (await services.store.audit.list({ userId: user.id })).filter((a) => a.action === action).length;

    // Sign in with the password and the authenticator app.
    await page.goto(world.pageUrl);
    await page.locator('#connection', { hasText: 'Connected' }).waitFor();
    expect(await page.locator('#passkey-sign-in').isVisible()).to.equal(true);
    await submitSignIn(page, world);
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'Signed in.');

    // An empty name is refused on the page, before any prompt.
    await page.click('#passkey-add');
    await page.locator('#passkey-error', { hasText: 'Give the passkey a name' }).waitFor();
    expect(await credentials(cdp, authenticatorId)).to.have.length(0);

    // Add: the browser creates a resident key, then the server asks for the app's code (a factor change).
    await page.fill('#passkey-name', 'Laptop');
    await page.click('#passkey-add');
    const addDialog = await openDialog(page);
    expect(await addDialog.locator('#code-purpose').textContent()).to.equal('To add a passkey, confirm it is you.');
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'Passkey “Laptop” added.');
    const row = page.locator('#passkeys-body tr');
    await row.waitFor();
    expect(await row.locator('th').textContent()).to.equal('Laptop');
    expect(await row.locator('td').nth(1).textContent()).to.equal('Never');
    const held = await credentials(cdp, authenticatorId);
    expect(held.map((c) => [c.rpId, c.isResidentCredential])).to.deep.equal([['localhost', true]]);
    const stored = await services.store.passkeys.list(user.id);
    expect(stored.map((p) => p.name)).to.deep.equal(['Laptop']);
    const id = stored[0]!.id;
    expect(await row.getAttribute('data-passkey')).to.equal(id);
    expect(await audits('passkey.added')).to.equal(1);

    // Rename in place: an account write, so the second factor is asked, and the passkey comes first.
    await row.getByRole('button', { name: 'Rename the passkey “Laptop”' }).click();
    await row.locator('input').fill('Work laptop');
    await row.getByRole('button', { name: 'Save' }).click();
    await expectPasskeyFirst(page, /rename a passkey/);
    publishScreenshot(await screenshot(page, 'passkeys-dialog'), 'account-passkey-dialog.png');
    await page.click('#code-submit');
    await dialogClosed(page);
    await statusSays(page, 'Passkey renamed to “Work laptop”.');
    expect(await row.locator('th').textContent()).to.equal('Work laptop');
    expect((await services.store.passkeys.list(user.id)).map((p) => p.name)).to.deep.equal(['Work laptop']);
    expect((await credentials(cdp, authenticatorId))[0]!.signCount).to.be.greaterThan(held[0]!.signCount);

    // Sign out, then in with the passkey alone: no username, no password.
    await page.click('#sign-out');
    await page.locator('#sign-in-form').waitFor();
    expect(await page.inputValue('#sign-in-password')).to.equal('');
    const tokensBefore = (await services.store.loginTokens.listForUser(user.id)).length;
    await page.click('#passkey-sign-in');
    await statusSays(page, 'Signed in with your passkey.');
    await page.locator('#who-name', { hasText: world.username }).waitFor();
    expect(await page.locator('#code-dialog').isHidden(), 'no second factor after a passkey sign-in').to.equal(true);
    expect((await services.store.loginTokens.listForUser(user.id)).length).to.equal(tokensBefore + 1);

    // A guarded method: the dialog offers the passkey first, and takes it.
    await page.click('#demo-call');
    await expectPasskeyFirst(page, /call the protected method/);
    await page.click('#code-submit');
    await dialogClosed(page);
    await page.locator('#demo-result', { hasText: 'Passed' }).waitFor();
    expect((await services.store.passkeys.list(user.id))[0]!.lastUsedAt).to.be.instanceOf(Date);

    // The list, read again (the passkey answers), shows when it was last used.
    await page.click('#passkeys-show');
    await expectPasskeyFirst(page, /see your passkeys/);
    await page.click('#code-submit');
    await dialogClosed(page);
    await page.locator('#passkeys-body tr td', { hasText: /\d/ }).nth(1).waitFor();
    expect(await page.locator('#passkeys-body tr th').allTextContents()).to.deep.equal(['Work laptop']);
    expect(await page.locator('#passkeys-body tr td').nth(1).textContent()).to.not.equal('Never');

    // Remove: a factor change, so a factor is asked; here the alternative the dialog offers, the app.
    await page.locator('#passkeys-body tr').getByRole('button', { name: 'Remove the passkey “Work laptop”' }).click();
    await expectPasskeyFirst(page, /remove a passkey/);
    await page.click('#code-switch button[data-method="totp"]');
    await page.locator('#code-label', { hasText: 'authenticator app' }).waitFor();
    expect(await page.locator('#code-switch button').allTextContents()).to.deep.equal(['Use your passkey instead']);
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'Passkey “Work laptop” removed.');
    expect(await page.locator('#passkeys-body tr').count()).to.equal(0);
    expect(await page.locator('#passkeys-empty').isVisible()).to.equal(true);
    expect(await services.store.passkeys.list(user.id)).to.deep.equal([]);
    expect([await audits('passkey.added'), await audits('passkey.renamed'), await audits('passkey.removed')]).to.deep.equal([1, 1, 1]);

    // The list from the server is empty too (now the app is the factor asked).
    await page.click('#passkeys-show');
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await page.locator('#passkeys-empty').waitFor();
    expect(await page.locator('#passkeys-table').isHidden()).to.equal(true);
    await screenshot(page, 'passkeys-empty');
  });

  it('a closed passkey prompt leaves the dialog open with the other factors, and a removed passkey cannot sign in', async () => {
    const world = await localhostWorld();
    const services = await world.server.services.get();
    const user = (await services.store.users.findByUsername(world.username))!;
    const { page, cdp, authenticatorId } = await openWithAuthenticator(world);
    await page.goto(world.pageUrl);
    await page.locator('#connection', { hasText: 'Connected' }).waitFor();
    await submitSignIn(page, world);
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await page.fill('#passkey-name', 'Phone');
    await page.click('#passkey-add');
    await answerDialog(page, nextTotp(world));
    await dialogClosed(page);
    await statusSays(page, 'Passkey “Phone” added.');

    // The user declines the prompt (the authenticator does not verify them): the dialog stays, says so, offers the app.
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    await page.click('#demo-call');
    await expectPasskeyFirst(page, /call the protected method/);
    await page.click('#code-submit');
    await page.locator('#code-error', { hasText: /passkey/i }).waitFor();
    expect(await page.locator('#code-dialog').isVisible()).to.equal(true);
    expect(await page.locator('#demo-result').textContent()).to.equal('');
    // Then it works.
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
    await page.click('#code-submit');
    await dialogClosed(page);
    await page.locator('#demo-result', { hasText: 'Passed' }).waitFor();

    // The passkey is removed on the server (as from another session); the browser still holds it, but it no longer signs in.
    const [stored] = await services.store.passkeys.list(user.id);
    expect(await services.store.passkeys.remove(user.id, stored!.id)).to.equal(true);
    await page.click('#sign-out');
    await page.locator('#sign-in-form').waitFor();
    expect(await credentials(cdp, authenticatorId)).to.have.length(1);
    await page.click('#passkey-sign-in');
    await page.locator('#status[data-kind="error"]', { hasText: 'Could not sign in with a passkey' }).waitFor();
    expect(await page.locator('#account').isHidden()).to.equal(true);
  });

  it('runs the passwordless sign-in example of docs/passkeys.md as written, in the browser', async () => {
    const world = await localhostWorld(false);
    const services = await world.server.services.get();
    const user = (await services.store.users.findByUsername(world.username))!;
    expect((await services.store.twoFactor.get(user.id)).totpEnabled, 'no factor yet: adding the passkey proves the password').to.equal(false);
    const { page, cdp, authenticatorId } = await openWithAuthenticator(world);
    const script = await docsExampleBundle(world.username);
    // A page of the server's origin (the RP ID's) outside the account page and its CSP (the
    // server's 404), and the example in it: as a reader's own page on that host would run it.
    on404Page = true;
    const response = await page.goto(`${world.origin}/docs-example`);
    expect(response?.status()).to.equal(404);
    await page.addScriptTag({ type: 'module', content: script });
    const done = (await page.waitForFunction(() => (window as unknown as { docsExample?: { userId?: string } }).docsExample, undefined, { timeout: 15_000 })
      .then((h) => h.jsonValue())
      .catch((error: unknown) => {
        throw new Error(`the example did not finish: ${String(error)}\n${watch?.problems() ?? ''}`);
      })) as { userId?: string };
    expect(done.userId).to.equal(user.id);
    const stored = await services.store.passkeys.list(user.id);
    expect(stored.map((p) => p.name)).to.deep.equal(['MacBook']);
    // The sign-in used it: the authenticator signed twice (register, then sign in) and the server saw the use.
    expect(stored[0]!.lastUsedAt).to.be.instanceOf(Date);
    expect((await credentials(cdp, authenticatorId)).map((c) => c.isResidentCredential)).to.deep.equal([true]);
  });
});
