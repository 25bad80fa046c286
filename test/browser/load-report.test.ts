/**
 * The HTML report of `ddp-guard load`, opened in headless Chromium from a file: the three
 * charts drew (a path per series with a point per second), the per-method table is there, no
 * console error, no CSP violation and no request leaves the file (it is self-contained). The
 * screenshot is the one docs/load-testing.md shows (refreshed with UPDATE_README_SCREENSHOT=1).
 */
import { expect } from 'chai';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { ECHO_TRANSCRIPT, startFloor, type FloorServer } from '../cli-client/load-support.js';
import { killChildren, removeTempFiles, runCli, tempFile } from '../cli-client/support.js';
import { launchChromium, publishScreenshot, SCREENSHOTS } from './support.js';

describe('browser: the HTML report of ddp-guard load', function () {
  this.timeout(60_000);
  let browser: Browser;
  let floor: FloorServer;
  let html: string;
  before(async () => {
    floor = await startFloor();
    const transcript = tempFile('echo.ddp', ECHO_TRANSCRIPT);
    html = path.join(path.dirname(transcript), 'report.html');
    const r = await runCli(['load', floor.url, '--script', transcript, '--vus', '4', '--ramp', '1s', '--duration', '3s', '--threshold', 'p99<1s', '--threshold', 'errors<0.1%', '--html', html], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).to.equal(0);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    floor?.close();
    killChildren();
    removeTempFiles();
  });

  it('draws the charts and the table offline, with no console errors', async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(html).href;
    await page.goto(url);
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => ({
        id: svg.id,
        box: svg.getBoundingClientRect().height,
        series: Array.from(svg.querySelectorAll('path.series')).map((p: Element) => ({ name: p.getAttribute('data-series'), points: (p.getAttribute('d') ?? '').split(/[ML]/).filter((s) => s.trim() !== '').length, length: (p as SVGPathElement).getTotalLength() })),
      })),
    );
    expect(charts.map((c) => c.id)).to.deep.equal(['chart-latency', 'chart-throughput', 'chart-vus']);
    for (const chart of charts) {
      expect(chart.box, chart.id).to.be.greaterThan(100);
      for (const s of chart.series) {
        expect(s.points, `${chart.id} ${s.name}`).to.be.at.least(3);
        if (s.name !== 'errors/s') expect(s.length, `${chart.id} ${s.name} drew a line`).to.be.greaterThan(50);
      }
    }
    expect(await page.locator('table tr', { hasText: 'method echo' }).count()).to.equal(1);
    expect(await page.locator('li.ok').count()).to.equal(2);
    const data = JSON.parse((await page.locator('#report-data').textContent()) ?? '{}') as { tool?: string };
    expect(data.tool).to.equal('ddp-guard load');
    expect(problems).to.deep.equal([]);
    expect(requests, 'nothing but the file itself').to.deep.equal([url]);
    const shot = path.join(SCREENSHOTS, 'load-report.png');
    await page.screenshot({ path: shot, fullPage: false, clip: { x: 0, y: 0, width: 800, height: 900 } });
    publishScreenshot(shot, 'load-report.png');
    await context.close();
  });
});
