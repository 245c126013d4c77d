// fusor's webgpu backend against tfjs's (@tensorflow/tfjs-backend-webgpu) in headless Chromium on
// the same adapter (here SwiftShader, a software adapter: only the ratios mean something). Bundles
// webgpu-page/ with vite from the packages' sources, serves it, drives Chromium with
// playwright-core and emits the page's results; run by run.mjs (`pnpm bench -- --only webgpu-browser`)
// or alone (`node bench/browser-webgpu.mjs`). Without Chromium it emits { unavailable: reason }.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emit } from './common.mjs';

const CHROMIUM = process.env.FUSOR_CHROMIUM ?? '/usr/lib/chromium/chromium';
if (!existsSync(CHROMIUM)) {
  emit({ unavailable: `Chromium not found at ${CHROMIUM} (bash scripts/setup-webgpu.sh --browser, or set FUSOR_CHROMIUM)` });
  process.exit(0);
}
const { build, defaultClientConditions } = await import('vite');
const { chromium } = await import('playwright-core');

const dir = mkdtempSync(join(tmpdir(), 'fusor-bench-webgpu-'));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
let server;
let browser;
try {
  await build({
    root: fileURLToPath(new URL('./webgpu-page/', import.meta.url)),
    logLevel: 'silent',
    resolve: { conditions: ['source', ...defaultClientConditions] },
    build: { outDir: dir, emptyOutDir: true, target: 'es2022', minify: false },
  });
  server = createServer((req, res) => {
    const path = join(dir, req.url === '/' ? 'index.html' : decodeURIComponent(req.url.split('?')[0]));
    if (!path.startsWith(dir) || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
  const page = await browser.newPage();
  const console_ = [];
  page.on('console', (m) => console_.length < 50 && console_.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console_.length < 50 && console_.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.benchResult !== undefined, undefined, { timeout: 15 * 60_000, polling: 1000 });
  const r = await page.evaluate(() => window.benchResult);
  emit({ browser: browser.version(), ...r, console: console_.filter((l) => !l.startsWith('log:')) });
} catch (e) {
  emit({ error: String(e?.message ?? e).split('\n').slice(0, 5).join(' | ') });
} finally {
  await browser?.close();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
