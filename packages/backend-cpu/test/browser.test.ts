/**
 * The cpu backend in a browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) loads a page bundled from the sources with vite. Served cross-origin isolated
 * (COOP/COEP headers), the heap is shared and launches run on a worker pool made from a Blob
 * URL; served plainly, it runs on one thread after saying why. Either way the numbers are those
 * Node computes. Without Chromium the test is skipped with the reason; with CI set it fails.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, defaultClientConditions } from 'vite';
import * as torch from '../../tensor/src/index.js';
import type { CpuBrowserResult } from './browser/main.js';
import { workload } from './browser/workload.js';

const CHROMIUM = process.env['FUSOR_CHROMIUM'] ?? '/usr/lib/chromium/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set FUSOR_CHROMIUM)`;
const suite = missing === undefined ? describe : process.env['CI'] ? describe : describe.skip;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

suite(`the cpu backend in headless Chromium${missing && !process.env['CI'] ? ` — ${missing}` : ''}`, () => {
  let dir = '';
  let server: Server | undefined;
  let base = '';

  beforeAll(async () => {
    if (missing) return;
    dir = mkdtempSync(join(tmpdir(), 'fusor-cpu-browser-'));
    await build({
      root: fileURLToPath(new URL('./browser/', import.meta.url)),
      logLevel: 'silent',
      resolve: { conditions: ['source', ...defaultClientConditions] },
      build: { outDir: dir, emptyOutDir: true, target: 'es2022', minify: false },
    });
    server = createServer((req, res) => {
      const [path, query] = decodeURIComponent(req.url!).split('?');
      const file = join(dir, path === '/' ? 'index.html' : path!);
      if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404).end();
      // documents asked for ?isolated are served cross-origin isolated (SharedArrayBuffer allowed)
      const isolation = query === 'isolated' ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...isolation }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  }, 60_000);

  afterAll(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function load(query: string): Promise<{ result: CpuBrowserResult; console: string[] }> {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const messages: string[] = [];
      page.on('console', (m) => messages.push(m.text()));
      await page.goto(`${base}${query}`);
      await page.waitForFunction(() => (window as { fusorCpuResult?: unknown }).fusorCpuResult !== undefined, undefined, { timeout: 60_000 });
      const r = await page.evaluate(() => (window as unknown as { fusorCpuResult: CpuBrowserResult | { error: string } }).fusorCpuResult);
      if ('error' in r) throw new Error(`the page failed: ${r.error}`);
      return { result: r, console: messages };
    } finally {
      await browser.close();
    }
  }

  it('runs launches on a worker pool when cross-origin isolated, with the numbers Node computes', async () => {
    if (missing) throw new Error(missing);
    const { result } = await load('?isolated');
    expect(result.isolated).toBe(true);
    expect(result.description).toBe('cpu (WebAssembly SIMD128 kernels, 2 threads)');
    expect(result.stats.threaded).toBeGreaterThan(0);
    expect(result.stats.js).toBe(0);
    const { description, isolated, stats, ...numbers } = result;
    expect(numbers).toEqual(workload(torch));
  }, 120_000);

  it('falls back to one thread, saying why, when the page is not cross-origin isolated', async () => {
    if (missing) throw new Error(missing);
    const { result, console: messages } = await load('');
    expect(result.isolated).toBe(false);
    expect(result.description).toBe('cpu (WebAssembly SIMD128 kernels, 1 thread)');
    expect(result.stats.threaded).toBe(0);
    expect(messages.filter((m) => m.startsWith('fusor cpu: running kernels on one thread: shared WebAssembly memory is unavailable'))).toHaveLength(1);
    expect(messages.join('\n')).toContain('Cross-Origin-Embedder-Policy: require-corp');
    const { description, isolated, stats, ...numbers } = result;
    expect(numbers).toEqual(workload(torch));
  }, 120_000);
});
