/**
 * How the account page is served, over plain HTTP (no browser needed): the files of
 * `dist/web/`, their types and security headers, the redirect to `/account/`, validators,
 * nothing else from the folder, and nothing at all (nor the demo method) when `accountPage` is off.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DdpError } from '../../protocol/errors.js';
import { ACCOUNT_PAGE_CSP, DEMO_METHOD, installAccountPage } from '../../server/web/account-page.js';
import { DdpServer, silentLogger } from '../../server/index.js';
import { startServer, stopServers } from '../helpers/server.js';

function base(server: DdpServer): string {
  return `http://127.0.0.1:${server.address()!.port}`;
}

describe('account page over HTTP', () => {
  afterEach(stopServers);

  it('serves index.html, app.js, app.css and icon.svg under the CSP, with nosniff and no framing', async () => {
    const server = await startServer();
    const expected: Record<string, RegExp> = {
      '/account/': /^text\/html; charset=utf-8$/,
      '/account/index.html': /^text\/html; charset=utf-8$/,
      '/account/app.js': /^text\/javascript; charset=utf-8$/,
      '/account/app.css': /^text\/css; charset=utf-8$/,
      '/account/icon.svg': /^image\/svg\+xml$/,
    };
    for (const [url, type] of Object.entries(expected)) {
      const res = await fetch(base(server) + url);
      expect(res.status, url).to.equal(200);
      expect(res.headers.get('content-type'), url).to.match(type);
      expect(res.headers.get('content-security-policy'), url).to.equal(ACCOUNT_PAGE_CSP);
      expect(res.headers.get('x-content-type-options'), url).to.equal('nosniff');
      expect(res.headers.get('x-frame-options'), url).to.equal('DENY');
      expect(res.headers.get('referrer-policy'), url).to.equal('no-referrer');
      expect((await res.arrayBuffer()).byteLength, url).to.be.greaterThan(0);
    }
    const html = await (await fetch(`${base(server)}/account/`)).text();
    expect(html).to.contain('<script type="module" src="app.js"></script>');
    expect(html, 'no inline script').to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html, 'no inline style').to.not.match(/<style|\sstyle=/);
    expect(html, 'nothing from another host').to.not.match(/(src|href)="(https?:)?\/\//);
  });

  it('redirects /account to /account/, answers HEAD, and revalidates with the ETag', async () => {
    const server = await startServer();
    const redirect = await fetch(`${base(server)}/account?x=1`, { redirect: 'manual' });
    expect(redirect.status).to.equal(308);
    expect(redirect.headers.get('location')).to.equal('/account/?x=1');

    const head = await fetch(`${base(server)}/account/app.js`, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(Number(head.headers.get('content-length'))).to.be.greaterThan(1000);
    expect(await head.text()).to.equal('');

    const etag = head.headers.get('etag')!;
    expect(etag).to.match(/^"[\w-]+"$/);
    const again = await fetch(`${base(server)}/account/app.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).to.equal(304);
    expect(again.headers.get('content-security-policy')).to.equal(ACCOUNT_PAGE_CSP);
  });

  it('serves only its own files: anything else under /account/ is 404, other methods 405', async () => {
    const server = await startServer();
    for (const url of ['/account/tsconfig.json', '/account/app.ts', '/account/..%2Fpackage.json', '/account/app.js.map']) {
      const res = await fetch(base(server) + url);
      expect(res.status, url).to.equal(404);
      expect(res.headers.get('content-security-policy'), url).to.equal(ACCOUNT_PAGE_CSP);
    }
    expect((await fetch(`${base(server)}/account/web/app.ts`)).status).to.equal(404);
    expect((await fetch(`${base(server)}/account/`, { method: 'POST' })).status).to.equal(405);
  });

  it('says how to build the page when dist/web/ is missing, and serves it once built', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-web-'));
    try {
      const server = new DdpServer({ port: 0, logger: silentLogger, accountPage: false });
      installAccountPage(server, { webRoot: dir });
      await server.listen();
      try {
        const missing = await fetch(`${base(server)}/account/`);
        expect(missing.status).to.equal(503);
        expect(await missing.text()).to.contain('npm run build');
        for (const f of ['index.html', 'app.js', 'app.css', 'icon.svg']) writeFileSync(path.join(dir, f), `/* ${f} */`);
        const built = await fetch(`${base(server)}/account/app.js`);
        expect(built.status).to.equal(200);
        expect(await built.text()).to.equal('/* app.js */');
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`registers ${DEMO_METHOD}: a logged-in user and a second factor`, async () => {
    const server = await startServer();
    const definition = server.registry.get(DEMO_METHOD);
    expect(definition, DEMO_METHOD).to.not.equal(undefined);
    expect(definition!.options.requireUser).to.equal(true);
    expect(definition!.twoFactor, 'guarded').to.not.equal(null);
  });

  it('serves nothing and registers no demo method with accountPage: false', async () => {
    const server = await startServer({ accountPage: false });
    for (const url of ['/account', '/account/', '/account/app.js']) {
      const res = await fetch(base(server) + url, { redirect: 'manual' });
      expect(res.status, url).to.equal(404);
      expect(res.headers.get('content-security-policy'), url).to.equal(null);
    }
    const error = await server.call(DEMO_METHOD).then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(DdpError);
    expect((error as DdpError).error).to.equal(404);
  });
});
