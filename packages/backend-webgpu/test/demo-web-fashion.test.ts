/**
 * The browser demo's Fashion-MNIST page (examples/web/fashion.html) in headless Chromium: the
 * page is built with vite (its plugin cuts the data subset from Debian's dataset files), served
 * on 127.0.0.1, and trained for a few steps with @fusor/nn (Module, optim.Adam, DataLoader) on
 * cpu and on webgpu. The test asserts that the loss falls, that the test accuracy rises above
 * chance, that both devices start from the same loss (same seed), and that the loss, accuracy and
 * sample canvases were drawn (their pixels, read back from the page); the webgpu run saves a
 * screenshot to examples/web/screenshots/fashion.png (git-ignored). Without Chromium, a WebGPU
 * adapter or the dataset the affected tests are skipped with the reason; with CI set they fail.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import type { Browser, Page } from 'playwright-core';

const CI = !!process.env['CI'];
const CHROMIUM = process.env['FUSOR_CHROMIUM'] ?? '/usr/lib/chromium/chromium';
const DATA = process.env['FUSOR_FASHION_MNIST'] ?? '/usr/share/datasets/fashion-mnist';
const missing = !existsSync(CHROMIUM)
  ? `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set FUSOR_CHROMIUM)`
  : !existsSync(join(DATA, 'train-images-idx3-ubyte.gz'))
    ? `Fashion-MNIST not found in ${DATA} (apt-get install dataset-fashion-mnist)`
    : undefined;
const suite = missing === undefined || CI ? describe : describe.skip;

const WEB = fileURLToPath(new URL('../../../examples/web/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const STEPS = 30;
// fashion.ts's colours: the loss line, and the test-accuracy line
const LOSS_COLOR = [0xe0, 0x73, 0x1b];
const TEST_ACC_COLOR = [0x2f, 0x5f, 0xd0];

/** Pixels of a canvas close to `rgb`, and the luminance's standard deviation, read in the page. */
async function canvasStats(page: Page, id: string, rgb: number[]): Promise<{ near: number; std: number }> {
  return page.evaluate(
    ([id, rgb]) => {
      const c = document.getElementById(id) as HTMLCanvasElement;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let near = 0;
      let sum = 0;
      let sq = 0;
      for (let k = 0; k < px.length; k += 4) {
        // a transparent pixel shows the white page behind the canvas
        const a = px[k + 3]! / 255;
        const [r, g, b] = [0, 1, 2].map((ch) => px[k + ch]! * a + 255 * (1 - a)) as [number, number, number];
        if (Math.abs(r - rgb[0]!) + Math.abs(g - rgb[1]!) + Math.abs(b - rgb[2]!) < 60) near++;
        const lum = 0.299 * r + 0.587 * g + 0.114 * b;
        sum += lum;
        sq += lum * lum;
      }
      const n = px.length / 4;
      return { near, std: Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2)) };
    },
    [id, rgb] as const,
  );
}

suite(`the Fashion-MNIST training page (examples/web/fashion.html) in headless Chromium${missing && !CI ? ` — ${missing}` : ''}`, () => {
  let dir = '';
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let webgpu: { ok: boolean; note: string } = { ok: false, note: 'not probed' };
  const firstLoss: Record<string, number> = {};

  beforeAll(async () => {
    if (missing) return; // each test then fails with the reason (CI), or is skipped
    dir = mkdtempSync(join(tmpdir(), 'fusor-demo-fashion-'));
    await build({ root: WEB, configFile: join(WEB, 'vite.config.ts'), logLevel: 'silent', build: { outDir: dir, emptyOutDir: true, minify: false } });
    server = createServer((req, res) => {
      const file = decodeURIComponent(req.url!.split('?')[0]!);
      const path = join(dir, file === '/' ? 'index.html' : file);
      if (!path.startsWith(dir) || !existsSync(path) || !statSync(path).isFile()) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', ...ISOLATION }).end(readFileSync(path));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}`));
    page.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())));
    await page.goto(`http://127.0.0.1:${port}/fashion.html`);
    await page.waitForSelector('body[data-state="idle"], body[data-state="error"]', { timeout: 60_000 });
    webgpu = { ok: (await page.getAttribute('body', 'data-webgpu')) === 'ok', note: (await page.textContent('#note-webgpu')) ?? '' };
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads the subset the build cut from the dataset files', async () => {
    if (missing) throw new Error(missing);
    expect(await page.textContent('#status'), `page errors: ${pageErrors.join('\n')}`).toBe('Ready. Pick a device and press Train.');
    expect(await page.textContent('#subset')).toBe('2048 training and 512 test images');
    // nothing is drawn before training: the pixel checks below can fail
    expect((await canvasStats(page, 'loss-chart', LOSS_COLOR)).near).toBe(0);
  }, 30_000);

  async function trainOn(device: 'cpu' | 'webgpu'): Promise<void> {
    await page.check(`#device-${device}`);
    await page.fill('#steps', String(STEPS));
    await page.click('#run-train');
    // the page reports every step while it trains
    await page.waitForFunction(() => /step \d+ \/ \d+/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 120_000 });
    expect(await page.textContent('#status'), `page errors: ${pageErrors.join('\n')}`).toMatch(new RegExp(`^Training on ${device}: done`));
    const cell = async (cls: string): Promise<string> => (await page.textContent(`#summary td.${cls}`)) ?? '';
    expect(await cell('device')).toBe(device);
    expect(Number(await cell('steps'))).toBe(STEPS);
    const first = Number(await cell('first'));
    const last = Number(await cell('last'));
    expect(first).toBeGreaterThan(1.8); // about ln 10 from random weights
    expect(first).toBeLessThan(2.8);
    expect(last).toBeLessThan(0.75 * first); // it learns
    const acc = Number((await cell('acc')).replace('%', ''));
    expect(acc, 'test accuracy (%) after a few steps: well above chance (10%)').toBeGreaterThan(40);
    firstLoss[device] = first;

    const loss = await canvasStats(page, 'loss-chart', LOSS_COLOR);
    expect(loss.near, 'pixels of the loss curve').toBeGreaterThan(100);
    const accuracy = await canvasStats(page, 'acc-chart', TEST_ACC_COLOR);
    expect(accuracy.near, 'pixels of the test-accuracy line').toBeGreaterThan(30);
    expect((await canvasStats(page, 'samples', [0, 0, 0])).std, 'the sample images').toBeGreaterThan(20);
    expect(pageErrors).toEqual([]);
  }

  it(`cpu: ${STEPS} Adam steps lower the loss and draw the plots`, async () => {
    if (missing) throw new Error(missing);
    await trainOn('cpu');
  }, 180_000);

  it(`webgpu: ${STEPS} Adam steps lower the loss from cpu's first loss and draw the plots`, async (ctx) => {
    if (missing) throw new Error(missing);
    if (!webgpu.ok) {
      if (CI) throw new Error(`webgpu is unavailable in Chromium: ${webgpu.note}`);
      ctx.skip(`webgpu is unavailable in Chromium: ${webgpu.note}`);
    }
    await trainOn('webgpu');
    // the same seed, weights and first batch: the same first loss (shown to 5 significant digits)
    if (firstLoss['cpu'] !== undefined) expect(firstLoss['webgpu']).toBeCloseTo(firstLoss['cpu'], 3);
    mkdirSync(join(WEB, 'screenshots'), { recursive: true });
    await page.screenshot({ path: join(WEB, 'screenshots', 'fashion.png'), fullPage: true }); // git-ignored, for a look
  }, 180_000);
});
