/**
 * Every relative link and `#anchor` of the README and of docs/*.md resolves: the file exists,
 * and a Markdown target has a heading that makes the anchor.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { allPages, root } from './pages.js';
import { anchors, brokenLinks, relativeLinks, slug } from './links.js';

describe('docs: links', () => {
  it('makes anchors as GitHub does', () => {
    expect(slug('Two-factor authentication (2FA)')).to.equal('two-factor-authentication-2fa');
    expect(slug("Rocket.Chat's known weaknesses, and what ddp-guard does instead")).to.equal('rocketchats-known-weaknesses-and-what-ddp-guard-does-instead');
    expect([...anchors('# A\n## B\n```\n## not a heading\n```\n## B\n')]).to.deep.equal(['a', 'b', 'b-1']);
    expect(relativeLinks('[x](a.md#b) `[y](c.md)` [z](https://example.com) ![p](s.png)').map((l) => l.target)).to.deep.equal(['a.md#b', 's.png']);
  });

  it('finds a broken file and a broken anchor', () => {
    const page = path.join(root, 'docs', 'README.md');
    expect(brokenLinks(page, '[a](no-such-page.md) [b](cli.md#no-such-heading) [c](cli.md#serve)')).to.deep.equal([
      'line 1: no-such-page.md: no such file',
      'line 1: cli.md#no-such-heading: no heading makes #no-such-heading',
    ]);
  });

  it('every relative link and #anchor of README.md and docs/*.md resolves', () => {
    const exists = (abs: string): boolean => existsSync(abs);
    const problems = allPages().flatMap((page) => brokenLinks(path.join(root, page.path), page.text, exists).map((p) => `${page.path} ${p}`));
    expect(problems).to.deep.equal([]);
    expect(allPages().reduce((n, page) => n + relativeLinks(page.text).length, 0), 'relative links checked').to.be.greaterThan(40);
  });
});
