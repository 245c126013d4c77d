/**
 * fusor in a browser: headless Chromium (Debian's `chromium`, driven by playwright-core) loads a
 * page bundled from the packages' sources with vite, runs the seed walkthrough and a few MLP
 * training steps on webgpu, and this test asserts the numbers. Without Chromium it is skipped
 * with the reason; with CI set it fails instead.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, defaultClientConditions } from 'vite';
import * as torch from '@fusor/tensor';
import type { BrowserResult } from './browser/main.js';

const CHROMIUM = process.env['FUSOR_CHROMIUM'] ?? '/usr/lib/chromium/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set FUSOR_CHROMIUM)`;
const suite = missing === undefined ? describe : process.env['CI'] ? describe : describe.skip;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

suite(`webgpu in headless Chromium${missing && !process.env['CI'] ? ` — ${missing}` : ''}`, () => {
  let dir = '';
  let server: Server | undefined;
  let url = '';

  beforeAll(async () => {
    if (missing) return;
    dir = mkdtempSync(join(tmpdir(), 'fusor-browser-'));
    await build({
      root: fileURLToPath(new URL('./browser/', import.meta.url)),
      logLevel: 'silent',
      resolve: { conditions: ['source', ...defaultClientConditions] },
      build: { outDir: dir, emptyOutDir: true, target: 'es2022', minify: false },
    });
    server = createServer((req, res) => {
      const path = join(dir, req.url === '/' ? 'index.html' : decodeURIComponent(req.url!.split('?')[0]!));
      if (!path.startsWith(dir) || !existsSync(path)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const addr = server.address() as { port: number };
    url = `http://127.0.0.1:${addr.port}/`;
  }, 60_000);

  afterAll(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the seed walkthrough and trains an MLP on webgpu with the numbers cpu gives', async () => {
    if (missing) throw new Error(missing);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => (window as { fusorResult?: unknown }).fusorResult !== undefined, undefined, { timeout: 60_000 });
      const r = await page.evaluate(() => (window as unknown as { fusorResult: BrowserResult | { error: string } }).fusorResult);
      if ('error' in r) throw new Error(`the page failed: ${r.error}`);
      expect(r.adapter).toMatch(/^webgpu: /);
      torch.manualSeed(0);
      expect(r.rand).toEqual(Array.from(torch.rand(4, 3).dataSync() as Float32Array));
      expect(r.out).toBe(3);
      expect(r.outText).toBe("tensor(3., device='webgpu:0', grad_fn=<MeanBackward0>)");
      expect(r.grad).toEqual([[3, 3], [3, 3]]);
      expect(r.losses[3]!).toBeLessThan(r.losses[0]!);
      r.losses.forEach((l, i) => expect(Math.abs(l - r.cpuLosses[i]!)).toBeLessThan(1e-5 * Math.abs(r.cpuLosses[i]!) + 1e-6));
    } finally {
      await browser.close();
    }
  }, 120_000);
});
