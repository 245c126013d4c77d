/**
 * The browser demo (examples/web, `pnpm demo:web`) in headless Chromium: the page is built with
 * vite and served on 127.0.0.1; the test clicks through the walkthrough and the training run on
 * cpu and on webgpu, asserts the numbers the page shows, saves a screenshot to
 * examples/web/screenshots/demo.png (git-ignored) and checks that the loss plot was drawn.
 * Without Chromium or a WebGPU adapter the affected tests are skipped with the reason; with CI
 * set they fail instead.
 *
 * (It lives here, not in examples/web/test/, because the root vitest config only collects
 * packages/<name>/test/; playwright-core is this package's dev dependency.)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import type { Browser, Page } from 'playwright-core';

const CI = !!process.env['CI'];
const CHROMIUM = process.env['FUSOR_CHROMIUM'] ?? '/usr/lib/chromium/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set FUSOR_CHROMIUM)`;
const suite = missing === undefined || CI ? describe : describe.skip;

const WEB = fileURLToPath(new URL('../../../examples/web/', import.meta.url));
export const SCREENSHOT = join(WEB, 'screenshots', 'demo.png');
const COLORS = { cpu: [0x2f, 0x5f, 0xd0], webgpu: [0xe0, 0x73, 0x1b] } as const; // main.ts's COLORS
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
// as examples/web/vite.config.ts serves it: cross-origin isolated, so the cpu backend gets its threads
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** The numbers inside a printed tensor's brackets: "tensor([[3., 3.], [3., 3.]], device=…)". */
function printedValues(text: string): number[] {
  const body = /^tensor\((\[[\s\S]*\])/.exec(text.trim())?.[1];
  if (body === undefined) throw new Error(`not a printed tensor: ${text}`);
  return [...body.matchAll(/-?\d+(?:\.\d*)?(?:e[-+]?\d+)?/g)].map((m) => Number(m[0]));
}

/** A minimal PNG decoder (8-bit RGB/RGBA, not interlaced: what Chromium writes) → RGBA pixels. */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, color, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || (color !== 2 && color !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth} color ${color} interlace ${interlace}`);
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[y * stride + i - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      if (pred === undefined) throw new Error(`bad PNG filter ${filter}`);
      out[y * stride + i] = (line[i]! + pred) & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let k = 0; k < width * height; k++) {
    for (let ch = 0; ch < 3; ch++) rgba[k * 4 + ch] = out[k * channels + ch]!;
    rgba[k * 4 + 3] = channels === 4 ? out[k * channels + 3]! : 255;
  }
  return { width, height, rgba };
}

type Image = ReturnType<typeof decodePng>;
interface Rect { x: number; y: number; width: number; height: number }

/** Over a region of an image: the luminance's standard deviation, and how many pixels are close to each colour. */
function pixelStats(img: Image, rect: Rect, colors: readonly (readonly number[])[]): { std: number; counts: number[] } {
  let sum = 0;
  let sq = 0;
  let n = 0;
  const counts = colors.map(() => 0);
  const [x0, y0] = [Math.max(0, Math.round(rect.x)), Math.max(0, Math.round(rect.y))];
  const [x1, y1] = [Math.min(img.width, Math.round(rect.x + rect.width)), Math.min(img.height, Math.round(rect.y + rect.height))];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const k = (y * img.width + x) * 4;
      const [r, g, b] = [img.rgba[k]!, img.rgba[k + 1]!, img.rgba[k + 2]!];
      const lum = 0.299 * r + 0.587 * g + 0.114 * b;
      sum += lum;
      sq += lum * lum;
      n++;
      colors.forEach((c, i) => {
        if (Math.abs(r - c[0]!) + Math.abs(g - c[1]!) + Math.abs(b - c[2]!) < 60) counts[i]!++;
      });
    }
  }
  if (n === 0) throw new Error(`empty region ${JSON.stringify(rect)} in a ${img.width}x${img.height} image`);
  return { std: Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2)), counts };
}

suite(`the browser demo (examples/web) in headless Chromium${missing && !CI ? ` — ${missing}` : ''}`, () => {
  let dir = '';
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const trained: string[] = [];
  let webgpu: { ok: boolean; note: string } = { ok: false, note: 'not probed' };
  let origin = '';

  /** Fails the test when there is no Chromium (the suite runs without one only in CI). */
  function needChromium(): void {
    if (missing) throw new Error(missing);
  }

  async function open(path: string): Promise<Page> {
    const p = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    p.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}`));
    p.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())));
    await p.goto(origin + path);
    await p.waitForSelector('body[data-state="idle"]', { timeout: 30_000 });
    return p;
  }

  beforeAll(async () => {
    if (missing) return; // each test then fails with the reason (CI), or is skipped
    dir = mkdtempSync(join(tmpdir(), 'fusor-demo-web-'));
    await build({ root: WEB, configFile: join(WEB, 'vite.config.ts'), logLevel: 'silent', build: { outDir: dir, emptyOutDir: true, minify: false } });
    server = createServer((req, res) => {
      const file = decodeURIComponent(req.url!.split('?')[0]!);
      const path = join(dir, file === '/' ? 'index.html' : file);
      if (!path.startsWith(dir) || !existsSync(path) || !statSync(path).isFile()) return void res.writeHead(404).end();
      const isolate = !req.url!.includes('?plain'); // `/?plain`: a page that is not cross-origin isolated
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', ...(isolate ? ISOLATION : {}) }).end(readFileSync(path));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    origin = `http://127.0.0.1:${port}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    page = await open('/');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    webgpu = {
      ok: (await page.getAttribute('body', 'data-webgpu')) === 'ok',
      note: (await page.textContent('#note-webgpu')) ?? '',
    };
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Clicks a button and waits for the page to finish (or fail) what it started. */
  async function press(page: Page, button: string, what: string, device: string, during?: RegExp): Promise<void> {
    await page.click(button);
    if (during) {
      // the page updates while it works (here: the status and the plot after every training step)
      const seen = await page.waitForFunction((re) => new RegExp(re).exec(document.getElementById('status')!.textContent ?? '')?.[0], during.source, { timeout: 30_000 });
      expect(await seen.jsonValue()).toBeTruthy();
    }
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 40_000 });
    const status = (await page.textContent('#status')) ?? '';
    expect(status, `page errors: ${pageErrors.join('\n')}`).toMatch(new RegExp(`^${what} on ${device}: done`));
  }

  async function runOn(page: Page, device: 'cpu' | 'webgpu'): Promise<void> {
    await page.check(`#device-${device}`);

    await press(page, '#run-walkthrough', 'Walkthrough', device);
    const printed = async (step: string): Promise<string> => (await page.textContent(`[data-step="${step}"] .out`)) ?? '';
    expect(await printed('out')).toBe(`tensor(3., ${device === 'cpu' ? '' : "device='webgpu:0', "}grad_fn=<MeanBackward0>)`);
    expect(printedValues(await printed('grad'))).toEqual([3, 3, 3, 3]);
    expect(printedValues(await printed('grad-accumulated'))).toEqual([4, 4, 4, 4]);
    expect(printedValues(await printed('grad-zeroed'))).toEqual([1, 1, 1, 1]);
    const rand = printedValues(await printed('rand'));
    expect(rand).toHaveLength(12);
    for (const v of rand) expect(v >= 0 && v < 1).toBe(true);

    await press(page, '#run-train', 'Training', device, /step \d+ \/ 200/);
    const cell = async (cls: string): Promise<number> => Number(await page.textContent(`#runs tr[data-device="${device}"] td.${cls}`));
    expect(await cell('steps')).toBe(200);
    const first = await cell('first');
    const last = await cell('last');
    expect(Number.isFinite(first) && Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first);
    expect(last).toBeLessThan(0.05 * first); // it really fits
  }

  it('cpu: runs the walkthrough (grads 3, 4, 1) and trains the MLP', async () => {
    needChromium();
    await runOn(page, 'cpu');
    trained.push('cpu');
  }, 60_000);

  it('webgpu: runs the walkthrough (grads 3, 4, 1) and trains the MLP to the losses cpu gives', async (ctx) => {
    needChromium();
    if (!webgpu.ok) {
      if (CI) throw new Error(`webgpu is unavailable in Chromium: ${webgpu.note}`);
      ctx.skip(`webgpu is unavailable in Chromium: ${webgpu.note}`);
    }
    await runOn(page, 'webgpu');
    trained.push('webgpu');
    if (!trained.includes('cpu')) return;
    const cells = async (device: string): Promise<number[]> =>
      Promise.all(['first', 'last'].map(async (cls) => Number(await page.textContent(`#runs tr[data-device="${device}"] td.${cls}`))));
    const [cpu, gpu] = [await cells('cpu'), await cells('webgpu')];
    expect(gpu[0]).toBeCloseTo(cpu[0]!, 4); // the same first loss (shown to 5 significant digits)
    expect(Math.abs(gpu[1]! - cpu[1]!)).toBeLessThan(0.05 * cpu[1]!); // and nearly the same final one
  }, 60_000);

  it('shows it: a screenshot whose loss plot is drawn', async () => {
    needChromium();
    expect(trained.length, 'no training run finished').toBeGreaterThan(0);
    mkdirSync(join(WEB, 'screenshots'), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0)); // element boxes in page coordinates
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const shot = decodePng(readFileSync(SCREENSHOT));
    const box = async (sel: string): Promise<Rect> => {
      const b = await page.locator(sel).boundingBox();
      if (!b) throw new Error(`${sel} is not visible`);
      return { x: b.x + 2, y: b.y + 2, width: b.width - 4, height: b.height - 4 }; // inside the border
    };

    // the loss plot, as the screenshot shows it: not blank, with a line for each device trained
    const loss = pixelStats(shot, await box('#loss-chart'), trained.map((d) => COLORS[d as keyof typeof COLORS]));
    expect(loss.std).toBeGreaterThan(10);
    loss.counts.forEach((n, i) => expect(n, `pixels of ${trained[i]}'s loss curve`).toBeGreaterThan(100));
    // and the fit plot
    expect(pixelStats(shot, await box('#fit-chart'), []).std).toBeGreaterThan(10);
    // a blank region (the page background) fails the same check: the check can fail
    expect(pixelStats(shot, { x: 0, y: shot.height - 8, width: shot.width, height: 8 }, []).std).toBeLessThan(1);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('cpu also works where the page is not cross-origin isolated (static hosting without COOP/COEP)', async () => {
    needChromium();
    const plain = await open('/?plain');
    try {
      expect(await plain.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await plain.textContent('#note-cpu')).toMatch(/^cpu \(.*1 thread\)/);
      await runOn(plain, 'cpu');
    } finally {
      await plain.close();
    }
  }, 60_000);
});
