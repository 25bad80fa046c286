/**
 * Shared pieces of the account-page tests: headless Chromium (Debian's `/usr/bin/chromium`,
 * driven by playwright-core), a ddp-guard server with a manual clock and a real SMTP sink,
 * users seeded through the Node client, pages watched for console errors, CSP violations and
 * requests that leave 127.0.0.1, and screenshots under `test-artifacts/screenshots/`.
 */
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { GuardServer, ServerOptions } from '../../server/index.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import type { SmtpSink, SinkMessage } from '../helpers/smtp-sink.js';
import { findRepoRoot } from '../docs/repo-root.js';
import {
  addUser,
  connectClient,
  enrolTotp,
  ManualClock,
  PASSWORD,
  sha256Hex,
  startGuardServer,
  startSmtpSink,
  STEP_MS,
  T0,
  wrongTotp,
} from '../client-e2e/support.js';

export { cleanup, connectClient, PASSWORD, STEP_MS, within } from '../client-e2e/support.js';

/** Debian's Chromium; `.ci/run` installs it when it is missing. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a quiet, offline, container-friendly Chromium. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const root = findRepoRoot(import.meta.url);
/** Where every run saves its screenshots (git-ignored). */
export const SCREENSHOTS = join(root, 'test-artifacts', 'screenshots');

/** Start Chromium, or fail with what to do when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: the account-page tests need it. Run .ci/run (it installs it), or: apt-get update && apt-get install -y chromium`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** One test's world: a server with a manual clock, its SMTP sink, and a user. */
export interface World {
  server: GuardServer;
  clock: ManualClock;
  sink: SmtpSink;
  /** `http://127.0.0.1:<port>/account/` */
  pageUrl: string;
  username: string;
  email: string;
  /** The TOTP secret, once enrolled. */
  secret?: string;
  backupCodes?: string[];
}

/** What {@link startWorld} sets up for the user. */
export interface WorldOptions {
  /** Enrol an authenticator app (through the Node client). */
  totp?: boolean;
  /** Turn email codes on (through the Node client). */
  email?: boolean;
  server?: Omit<ServerOptions, 'clock'>;
}

/**
 * A server on 127.0.0.1 (in-memory SQLite, bcrypt cost 4, no trusted-client window so every
 * guarded call asks, mail to a real SMTP sink) and a user `alice` with a verified address,
 * optionally with TOTP and email codes already on.
 */
export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const clock = new ManualClock(T0);
  const { sink, url: smtpUrl } = await startSmtpSink();
  const server = await startGuardServer({ clock, smtpUrl, ...options.server });
  const username = 'alice';
  const email = 'alice@example.test';
  await addUser(server, username, { address: email, verified: true });
  const port = server.address()!.port;
  const world: World = { server, clock, sink, pageUrl: `http://127.0.0.1:${port}/account/`, username, email };
  if (options.totp || options.email) {
    const client = await connectClient(server, {
      // Adding a factor proves the one the user has: the password while they have none, then
      // the authenticator app.
      onTwoFactorRequired: ({ details }) => {
        if (details.method === 'password') return { code: sha256Hex(PASSWORD), method: 'password' };
        if (details.method === 'totp' && world.secret) return { code: nextTotp(world) };
        return null;
      },
    });
    await client.loginWithPassword(username, PASSWORD);
    if (options.totp) {
      const { secret, backupCodes } = await enrolTotp(client, clock, { code: sha256Hex(PASSWORD), method: 'password' });
      world.secret = secret;
      world.backupCodes = backupCodes;
    }
    if (options.email) await client.account.enableEmailCodes();
    client.close();
  }
  return world;
}

/** A fresh TOTP code: the clock moves one step first, so no code is a replay of the last one. */
export function nextTotp(world: World): string {
  if (!world.secret) throw new Error('the user has no authenticator app');
  world.clock.advance(STEP_MS);
  return generateTotpCode(world.secret, world.clock.now());
}

/** A code the server accepts for none of the steps around its current time. */
export function badTotp(world: World): string {
  if (!world.secret) throw new Error('the user has no authenticator app');
  return wrongTotp(world.secret, world.clock);
}

/** The next mail the sink receives after `before` messages, and the 6-digit code in it. */
export async function nextEmailCode(sink: SmtpSink, before: number): Promise<{ code: string; mail: SinkMessage }> {
  const mail = await sink.waitFor((m) => sink.messages.indexOf(m) >= before, 5_000);
  const code = /\b(\d{6})\b/.exec(`${mail.subject}\n${mail.text}`)?.[1];
  if (!code) throw new Error(`no 6-digit code in the mail "${mail.subject}"`);
  return { code, mail };
}

/** What a page did that it should not have. */
export interface Watch {
  consoleErrors: string[];
  pageErrors: string[];
  offsite: string[];
  /** Every problem, one per line ('' when none). */
  problems(): string;
}

/** A browser context and page on the world's server, watched for errors and offsite requests. */
export async function openPage(browser: Browser, world: World): Promise<{ context: BrowserContext; page: Page; watch: Watch }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 860 }, deviceScaleFactor: 1, acceptDownloads: true, locale: 'en-GB', timezoneId: 'UTC', reducedMotion: 'reduce' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(world.pageUrl).origin });
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  const watch: Watch = {
    consoleErrors: [],
    pageErrors: [],
    offsite: [],
    problems() {
      return [...this.consoleErrors.map((t) => `console: ${t}`), ...this.pageErrors.map((t) => `page error: ${t}`), ...this.offsite.map((u) => `request off 127.0.0.1: ${u}`)].join('\n');
    },
  };
  page.on('console', (message) => {
    // CSP violations are reported as console errors (and some as warnings).
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) watch.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watch.pageErrors.push(error.message));
  const local = (url: string): boolean => {
    const parsed = new URL(url);
    return parsed.protocol === 'data:' || parsed.protocol === 'blob:' || parsed.hostname === '127.0.0.1';
  };
  page.on('request', (request) => {
    if (!local(request.url())) watch.offsite.push(request.url());
  });
  page.on('websocket', (socket) => {
    if (!local(socket.url())) watch.offsite.push(socket.url());
  });
  return { context, page, watch };
}

/** Open the page and wait until it is connected and shows the sign-in form. */
export async function gotoSignIn(page: Page, world: World): Promise<void> {
  await page.goto(world.pageUrl);
  await page.locator('#connection', { hasText: 'Connected' }).waitFor();
  await page.locator('#sign-in-form').waitFor();
}

/** Fill in the sign-in form and submit it (the code dialog may open next). */
export async function submitSignIn(page: Page, world: World, password = PASSWORD): Promise<void> {
  await page.fill('#sign-in-user', world.username);
  await page.fill('#sign-in-password', password);
  await page.click('#sign-in-submit');
}

/** Wait until the status line says `text`. */
export async function statusSays(page: Page, text: string | RegExp): Promise<void> {
  await page.locator('#status', { hasText: text }).waitFor();
}

/** The code dialog, once open. */
export async function openDialog(page: Page): Promise<Locator> {
  const dialog = page.locator('#code-dialog');
  await dialog.waitFor({ state: 'visible' });
  await page.locator('#code-input:enabled').waitFor();
  return dialog;
}

/** Type a code into the open dialog and submit it. */
export async function answerDialog(page: Page, code: string): Promise<void> {
  await openDialog(page);
  await page.fill('#code-input', code);
  await page.click('#code-submit');
}

/** Wait until the dialog is closed. */
export async function dialogClosed(page: Page): Promise<void> {
  await page.locator('#code-dialog').waitFor({ state: 'hidden' });
}

/** Save a screenshot of the viewport as `test-artifacts/screenshots/<name>.png`. */
export async function screenshot(page: Page, name: string, options: { top?: boolean; height?: number } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  if (options.top) await page.evaluate(() => window.scrollTo(0, 0));
  // Let the status line's delayed update land, so the picture shows it.
  await page.waitForTimeout(60);
  const viewport = page.viewportSize()!;
  await page.screenshot({
    path: file,
    animations: 'disabled',
    caret: 'hide',
    ...(options.height ? { clip: { x: 0, y: 0, width: viewport.width, height: options.height } } : {}),
  });
  return file;
}

/**
 * With `UPDATE_README_SCREENSHOT=1`, copy a screenshot to `docs/screenshots/<name>` for the
 * README (the committed picture changes only when someone asks for it).
 */
export function publishScreenshot(file: string, name: string): void {
  if (process.env.UPDATE_README_SCREENSHOT !== '1') return;
  const dir = join(root, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  copyFileSync(file, join(dir, name));
}
