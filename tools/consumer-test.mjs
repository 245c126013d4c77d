#!/usr/bin/env node
// fusor as a dependency, tested the way a user meets it: every package packed into a tarball
// (`pnpm pack`, the form `pnpm publish` uploads), installed with npm into a fresh project outside
// the workspace, and used there from plain Node, from an esbuild bundle, from TypeScript
// (moduleResolution node16 and bundler, TypeScript 5.9 and the repo's 7) and from a vite app in
// headless Chromium on cpu and webgpu. Prints each package's packed and unpacked size.
//
//   pnpm build && node tools/consumer-test.mjs [--json FILE] [--keep]
//
// Every check is recorded ({ name, ok, detail }); the exit code is non-zero when any failed.
// packages/fusor/test/consumer.test.ts runs this in CI and turns each check into a test.
// Needs: built packages (dist/), npm, Chromium at FUSOR_CHROMIUM or /usr/lib/chromium/chromium
// (scripts/setup-webgpu.sh --browser). npm fetches koffi and webgpu (third-party dependencies)
// from its cache or the registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = join(ROOT, 'tools');
const CHROMIUM = process.env.FUSOR_CHROMIUM ?? '/usr/lib/chromium/chromium';
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? resolve(args[args.indexOf('--json') + 1]) : undefined;
const keep = args.includes('--keep');

const checks = [];
const log = (msg) => process.stderr.write(`consumer-test: ${msg}\n`);

/** Runs one named check; a throw is a failure with its message, the rest still run. */
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = (await fn()) ?? '';
    checks.push({ name, ok: true, detail, ms: Date.now() - t0 });
    log(`ok   ${name}${detail ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
  } catch (e) {
    checks.push({ name, ok: false, detail: String(e?.stack ?? e), ms: Date.now() - t0 });
    log(`FAIL ${name}: ${e?.message ?? e}`);
  }
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`.trim());
  return r.stdout;
}

const publishable = () =>
  readdirSync(join(ROOT, 'packages'))
    .map((d) => join(ROOT, 'packages', d))
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter((p) => !p.manifest.private);

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Every file an exports map can resolve to (all conditions), to check each is in the tarball. */
function exportTargets(exp, out = []) {
  if (typeof exp === 'string') out.push(exp);
  else if (exp && typeof exp === 'object') for (const v of Object.values(exp)) exportTargets(v, out);
  return out;
}

function conditionsOf(exp, out = new Set()) {
  if (exp && typeof exp === 'object') {
    for (const [k, v] of Object.entries(exp)) {
      if (!k.startsWith('.')) out.add(k);
      conditionsOf(v, out);
    }
  }
  return out;
}

/** What a user would trip over in a published tarball, checked on its unpacked contents. */
function inspectPackage(root, name) {
  const problems = [];
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const files = walk(root).map((f) => relative(root, f));
  for (const f of ['LICENSE', 'README.md']) if (!files.includes(f)) problems.push(`${f} missing`);
  for (const f of files) if (/\.tsbuildinfo$|(^|\/)test\//.test(f)) problems.push(`${f} should not be packed`);
  for (const field of ['description', 'license', 'repository', 'engines', 'sideEffects', 'exports']) {
    if (manifest[field] === undefined) problems.push(`package.json has no "${field}"`);
  }
  const conds = conditionsOf(manifest.exports);
  for (const c of conds)
    if (!['types', 'import', 'default', 'require', 'node', 'browser'].includes(c)) problems.push(`exports condition "${c}" (repo-only?)`);
  for (const t of exportTargets(manifest.exports)) if (!existsSync(join(root, t))) problems.push(`exports target ${t} not in the tarball`);
  for (const [dep, spec] of Object.entries({ ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies })) {
    if (String(spec).startsWith('workspace:')) problems.push(`dependency ${dep} is still ${spec}`);
  }
  // source maps and declaration maps must point at files that ship
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(root, f), 'utf8'));
    for (const s of map.sources ?? []) {
      const target = resolve(dirname(join(root, f)), map.sourceRoot ?? '', s);
      if (!existsSync(target)) problems.push(`${f} points at ${relative(root, target)}, not shipped`);
    }
  }
  if (problems.length)
    throw new Error(`${name}: ${problems.slice(0, 12).join('; ')}${problems.length > 12 ? ` (+${problems.length - 12} more)` : ''}`);
  const unpacked = files.reduce((n, f) => n + statSync(join(root, f)).size, 0);
  return { files: files.length, unpacked };
}

const kb = (n) => `${(n / 1024).toFixed(1)} kB`;

// ---------------------------------------------------------------------------------- the consumer

const TRAIN_MJS = `// A plain Node script using the public API: linear regression by hand (tensors, autograd, SGD).
import * as torch from 'fusor';

torch.manualSeed(0);
const X = torch.randn(64, 3);
const y = X.matmul(torch.tensor([[2], [-1], [0.5]], { dtype: torch.float32 })).add(0.3);
const w = torch.zeros(3, 1, { requiresGrad: true });
const b = torch.zeros(1, { requiresGrad: true });
const losses = [];
for (let step = 0; step < 40; step++) {
  const loss = X.matmul(w).add(b).sub(y).pow(2).mean();
  loss.backward();
  torch.noGrad(() => {
    for (const p of [w, b]) {
      p.sub_(p.grad.mul(0.1));
      p.grad.zero_();
    }
  });
  losses.push(await loss.item());
}
const device = torch.device('cpu');
const before = torch.registeredBackends();
await import('fusor/webgpu');
await import('fusor/cuda');
console.log(JSON.stringify({
  losses: [losses[0], losses.at(-1)],
  w: (await w.tolist()).flat(),
  b: await b.item(),
  backends: before,
  backendsAfter: torch.registeredBackends(),
  namespaces: ['nn', 'optim', 'utils', 'safetensors', 'distributed'].filter((k) => typeof torch[k] === 'object'),
  device: [String(device), device.equals('cpu'), torch.zeros(1, { device }).device],
}));
`;

const REQUIRE_CJS = `// CommonJS: require() of the ESM-only package works (Node >= 20.19 loads ESM synchronously) or
// fails with Node's own clear error; either way the outcome is printed.
try {
  const torch = require('fusor');
  console.log(JSON.stringify({ ok: true, sum: torch.ones(3).sum().itemSync() }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code, message: String(e.message).split('\\n')[0] }));
}
`;

const USE_TS = `// Typechecked by tsc with moduleResolution node16 and bundler: the public API's types as a user sees them.
import * as torch from 'fusor';
import 'fusor/webgpu';
import type { Tensor, Device, DType, TensorOptions } from 'fusor';

const dtype: DType = torch.float32;
const cuda1: Device = torch.device('cuda:1');
const opts: TensorOptions = { dtype, device: torch.device('cpu'), requiresGrad: true };
const w: Tensor = torch.zeros(3, 1, opts);
const x = torch.randn(8, 3);
const loss: Tensor = x.matmul(w).sub(torch.ones(8, 1)).pow(2).mean();
loss.backward();
torch.noGrad(() => w.sub_(w.grad!.mul(0.1)));
const values: Promise<number | boolean> = loss.item();
const index: number | null = cuda1.index;
const nn: object = torch.nn;
const data: object = torch.utils.data;
// @ts-expect-error internals are not part of the public API
torch.fromHost;
// @ts-expect-error a device index is a number
torch.device('cuda', '1');
export { values, index, nn, data };
`;

const APP_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>fusor consumer</title></head>
<body><pre id="out">running</pre><script type="module" src="./main.js"></script></body></html>
`;

const APP_MAIN = `import * as torch from 'fusor';
import 'fusor/webgpu';

async function train(device) {
  torch.manualSeed(0);
  const X = torch.randn(64, 3, { device });
  const y = X.matmul(torch.tensor([[2], [-1], [0.5]], { dtype: torch.float32, device })).add(0.3);
  const w = torch.zeros(3, 1, { requiresGrad: true, device });
  const b = torch.zeros(1, { requiresGrad: true, device });
  const losses = [];
  for (let step = 0; step < 20; step++) {
    const loss = X.matmul(w).add(b).sub(y).pow(2).mean();
    loss.backward();
    torch.noGrad(() => {
      for (const p of [w, b]) {
        p.sub_(p.grad.mul(0.1));
        p.grad.zero_();
      }
    });
    losses.push(await loss.item());
  }
  return { device: X.device, losses };
}

async function main() {
  const cpu = await train('cpu');
  let webgpu;
  try {
    const adapter = await torch.init(torch.device('webgpu'));
    webgpu = { adapter, ...(await train('webgpu')) };
  } catch (e) {
    webgpu = { error: String(e && e.message || e) };
  }
  return { backends: torch.registeredBackends(), cpu, webgpu };
}

main().then(
  (r) => { window.fusorResult = r; document.getElementById('out').textContent = JSON.stringify(r); },
  (e) => { window.fusorResult = { error: String(e && e.stack || e) }; },
);
`;

/** What train.mjs printed, run directly or bundled: backends registered by exactly the imports that register them. */
function checkNodeScript(r) {
  if (r.backends.join() !== 'cpu') throw new Error(`import 'fusor' should register cpu alone, registered: ${r.backends}`);
  if (r.backendsAfter.join() !== 'cpu,webgpu,cuda') throw new Error(`fusor/webgpu and fusor/cuda should register theirs: ${r.backendsAfter}`);
  if (r.namespaces.length !== 5) throw new Error(`torch.nn/optim/utils/safetensors/distributed: only ${r.namespaces}`);
  if (JSON.stringify(r.device) !== '["cpu",true,"cpu"]') throw new Error(`torch.device: ${JSON.stringify(r.device)}`);
}

function checkTraining(r, label) {
  const [first, last] = r.losses;
  if (!(last < first * 0.05)) throw new Error(`${label}: the loss did not fall (${first} → ${last})`);
  const wTrue = [2, -1, 0.5];
  if (r.w && r.w.some((v, i) => Math.abs(v - wTrue[i]) > 0.1)) throw new Error(`${label}: w = ${r.w}, expected about ${wTrue}`);
  return `loss ${first.toFixed(4)} → ${last.toExponential(2)}`;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'fusor-consumer-'));
  const tarballs = join(work, 'tarballs');
  const app = join(work, 'app');
  mkdirSync(tarballs);
  mkdirSync(app);
  log(`working in ${work}`);
  const packed = [];

  await check('pack: every package packs with LICENSE, metadata, shipped exports targets and resolvable source maps', () => {
    const missing = publishable().filter((p) => !existsSync(join(p.dir, 'dist', 'index.js')));
    if (missing.length) throw new Error(`not built (run pnpm build): ${missing.map((p) => p.manifest.name).join(', ')}`);
    const problems = [];
    for (const p of publishable()) {
      const out = JSON.parse(run('pnpm', ['pack', '--json', '--pack-destination', tarballs], { cwd: p.dir }));
      const x = join(work, 'unpacked', p.manifest.name);
      mkdirSync(x, { recursive: true });
      execFileSync('tar', ['xzf', out.filename, '-C', x, '--strip-components=1']);
      packed.push({ name: p.manifest.name, tarball: out.filename, packed: statSync(out.filename).size, unpacked: 0, files: 0 });
      try {
        Object.assign(packed.at(-1), inspectPackage(x, p.manifest.name));
      } catch (e) {
        problems.push(e.message);
      }
    }
    if (problems.length) throw new Error(problems.join('\n'));
    return `${packed.length} packages`;
  });

  await check('sizes: each package’s packed and unpacked size', () => {
    if (!packed.length) throw new Error('nothing packed');
    const rows = packed.map((p) => `| ${p.name} | ${kb(p.packed)} | ${kb(p.unpacked)} | ${p.files} |`);
    const total = packed.reduce((a, p) => [a[0] + p.packed, a[1] + p.unpacked], [0, 0]);
    const table = ['| package | packed | unpacked | files |', '|---|---:|---:|---:|', ...rows, `| all | ${kb(total[0])} | ${kb(total[1])} | |`].join(
      '\n',
    );
    process.stdout.write(`\n${table}\n\n`);
    return packed.map((p) => ({ name: p.name, packed: p.packed, unpacked: p.unpacked }));
  });

  await check('install: npm installs the tarballs into a fresh project outside the workspace', () => {
    const deps = Object.fromEntries(packed.map((p) => [p.name, `file:${p.tarball}`]));
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'fusor-consumer', private: true, type: 'module', dependencies: deps, overrides: deps }, null, 2),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: app, timeout: 300_000 });
    if (!existsSync(join(app, 'node_modules', 'fusor', 'package.json'))) throw new Error('node_modules/fusor missing after npm install');
    return relative(tmpdir(), app);
  });

  await check('node: a plain Node script trains a linear regression with the public API; fusor/webgpu and fusor/cuda register', () => {
    writeFileSync(join(app, 'train.mjs'), TRAIN_MJS);
    const r = JSON.parse(run('node', ['train.mjs'], { cwd: app, timeout: 120_000 }).trim().split('\n').at(-1));
    checkNodeScript(r);
    return checkTraining(r, 'node');
  });

  await check('require: CommonJS require() of fusor works or fails with a clear error', () => {
    writeFileSync(join(app, 'require.cjs'), REQUIRE_CJS);
    const r = JSON.parse(run('node', ['require.cjs'], { cwd: app, timeout: 60_000 }).trim().split('\n').at(-1));
    if (r.ok) {
      if (r.sum !== 3) throw new Error(`require('fusor') loaded but ones(3).sum() = ${r.sum}`);
      return 'works';
    }
    if (!['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE'].includes(r.code)) throw new Error(`unclear failure: ${r.code} ${r.message}`);
    return `${r.code}: ${r.message}`;
  });

  await check('esbuild: the Node script bundled by esbuild (sideEffects keep backend registration) still trains', async () => {
    const esbuild = await import(pathToFileURL(createRequire(join(TOOLS, 'package.json')).resolve('esbuild')).href);
    const outfile = join(app, 'bundle', 'train.mjs');
    await esbuild.build({
      entryPoints: [join(app, 'train.mjs')],
      absWorkingDir: app,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'error',
      // native or optional modules loaded at run time stay outside the bundle
      external: ['koffi', 'webgpu'],
    });
    const r = JSON.parse(run('node', [outfile], { cwd: app, timeout: 120_000 }).trim().split('\n').at(-1));
    checkNodeScript(r);
    return `${kb(statSync(outfile).size)} bundle, ${checkTraining(r, 'esbuild')}`;
  });

  await check('bundlers: a named import ({ zeros }) from fusor or @fusor/tensor keeps the cpu backend (esbuild, vite/rolldown)', async () => {
    // sideEffects must name the files whose import registers cpu, or a bundler drops them when
    // only re-exported names are used
    const esbuild = await import(pathToFileURL(createRequire(join(TOOLS, 'package.json')).resolve('esbuild')).href);
    const vite = await import(pathToFileURL(createRequire(join(TOOLS, 'package.json')).resolve('vite')).href);
    const results = [];
    for (const pkg of ['fusor', '@fusor/tensor']) {
      const base = pkg === 'fusor' ? 'named-fusor' : 'named-tensor';
      writeFileSync(
        join(app, `${base}.mjs`),
        `import { zeros } from '${pkg}';\nconsole.log(JSON.stringify(Array.from(zeros(2).add(1).dataSync())));\n`,
      );
      const esOut = join(app, 'bundle', `${base}.mjs`);
      await esbuild.build({
        entryPoints: [join(app, `${base}.mjs`)],
        absWorkingDir: app,
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: esOut,
        logLevel: 'error',
        external: ['koffi', 'webgpu'],
      });
      const viteDir = join(app, 'bundle', `vite-${base}`);
      await vite.build({
        root: app,
        configFile: false,
        logLevel: 'error',
        ssr: { noExternal: true, external: ['koffi', 'webgpu'] },
        build: {
          ssr: join(app, `${base}.mjs`),
          outDir: viteDir,
          emptyOutDir: true,
          target: 'node20',
          rollupOptions: { output: { entryFileNames: '[name].mjs' } },
        },
      });
      for (const [label, file] of [
        ['esbuild', esOut],
        ['vite', join(viteDir, `${base}.mjs`)],
      ]) {
        const out = run('node', [file], { cwd: app, timeout: 60_000 }).trim().split('\n').at(-1);
        if (out !== '[1,1]') throw new Error(`${label} bundle of { zeros } from '${pkg}' printed ${out}`);
        results.push(`${label}/${pkg}`);
      }
    }
    return results.join(', ');
  });

  // TypeScript 7 also checks the shipped .d.ts files (skipLibCheck off). TypeScript 5.9's DOM lib
  // has no WebGPU types, which @fusor/backend-webgpu's declarations name (GPUBuffer …): there a
  // user needs skipLibCheck (tsc --init's default) or @webgpu/types.
  const compilers = [
    ['typescript 5.9', join(TOOLS, 'node_modules', 'typescript', 'bin', 'tsc'), true],
    ['typescript 7 (repo)', join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), false],
  ];
  writeFileSync(join(app, 'use.ts'), USE_TS);
  for (const [resolution, module] of [
    ['node16', 'node16'],
    ['bundler', 'esnext'],
  ]) {
    for (const [label, tsc, skipLibCheck] of compilers) {
      const cfg = join(app, `tsconfig.${resolution}.${skipLibCheck ? 'skiplib' : 'libcheck'}.json`);
      const compilerOptions = {
        strict: true,
        noEmit: true,
        skipLibCheck,
        target: 'es2022',
        lib: ['es2023', 'dom'],
        types: [],
        module,
        moduleResolution: resolution,
      };
      writeFileSync(cfg, JSON.stringify({ compilerOptions, files: ['use.ts'] }));
      await check(
        `tsc: ${label}, moduleResolution ${resolution}${skipLibCheck ? '' : ', .d.ts files checked'}, typechecks a file using the API`,
        () => {
          run('node', [tsc, '-p', cfg], { cwd: app, timeout: 120_000 });
        },
      );
    }
  }
  // the same file less `import 'fusor/webgpu'`: TypeScript 5.9 checks every other shipped .d.ts
  const coreCfg = join(app, 'tsconfig.core.libcheck.json');
  writeFileSync(join(app, 'use-core.ts'), USE_TS.replace("import 'fusor/webgpu';\n", ''));
  writeFileSync(
    coreCfg,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        target: 'es2022',
        lib: ['es2023', 'dom'],
        types: [],
        module: 'node16',
        moduleResolution: 'node16',
      },
      files: ['use-core.ts'],
    }),
  );
  await check('tsc: typescript 5.9, moduleResolution node16, .d.ts files checked, typechecks it without fusor/webgpu', () => {
    if (!readFileSync(join(app, 'use-core.ts'), 'utf8').includes("from 'fusor'")) throw new Error('use-core.ts lost its import');
    run('node', [compilers[0][1], '-p', coreCfg], { cwd: app, timeout: 120_000 });
  });

  let url = '';
  let server;
  await check('vite: a vite app importing fusor and fusor/webgpu builds', async () => {
    const vite = await import(pathToFileURL(createRequire(join(TOOLS, 'package.json')).resolve('vite')).href);
    const site = join(app, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), APP_HTML);
    writeFileSync(join(site, 'main.js'), APP_MAIN);
    const dist = join(site, 'dist');
    await vite.build({ root: site, configFile: false, logLevel: 'error', build: { outDir: dist, emptyOutDir: true, target: 'es2022' } });
    const js = walk(dist).filter((f) => f.endsWith('.js'));
    const bytes = js.reduce((n, f) => n + statSync(f).size, 0);
    // cross-origin isolated, as a site must be for the cpu backend's shared-memory worker pool
    const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
    server = createServer((req, res) => {
      const file = join(dist, req.url === '/' ? 'index.html' : decodeURIComponent(req.url.split('?')[0]));
      if (!file.startsWith(dist) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', ...isolation }).end(readFileSync(file));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${server.address().port}/`;
    return `${js.length} chunks, ${kb(bytes)} of JavaScript`;
  });

  let page;
  await check('chromium: the vite app trains on cpu in headless Chromium', async () => {
    if (!url) throw new Error('no app (the vite build failed)');
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (bash scripts/setup-webgpu.sh --browser, or set FUSOR_CHROMIUM)`);
    const { chromium } = createRequire(join(TOOLS, 'package.json'))('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    try {
      const p = await browser.newPage();
      const errors = [];
      p.on('pageerror', (e) => errors.push(String(e)));
      await p.goto(url);
      await p.waitForFunction(() => window.fusorResult !== undefined, undefined, { timeout: 90_000 });
      page = await p.evaluate(() => window.fusorResult);
      if (page.error) throw new Error(`the page failed: ${page.error}`);
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    } finally {
      await browser.close();
    }
    if (page.cpu.device !== 'cpu') throw new Error(`expected cpu tensors, got ${page.cpu.device}`);
    return checkTraining({ losses: [page.cpu.losses[0], page.cpu.losses.at(-1)] }, 'chromium cpu');
  });

  await check('chromium: the vite app trains on webgpu in headless Chromium, as on cpu', () => {
    if (!page) throw new Error('the page did not run');
    if (page.webgpu.error) throw new Error(`webgpu: ${page.webgpu.error}`);
    if (page.webgpu.device !== 'webgpu:0') throw new Error(`expected webgpu:0 tensors, got ${page.webgpu.device}`);
    page.webgpu.losses.forEach((l, i) => {
      const c = page.cpu.losses[i];
      if (Math.abs(l - c) > 1e-4 * Math.abs(c) + 1e-6) throw new Error(`step ${i}: webgpu loss ${l}, cpu ${c}`);
    });
    return `${page.webgpu.adapter}; ${checkTraining({ losses: [page.webgpu.losses[0], page.webgpu.losses.at(-1)] }, 'chromium webgpu')}`;
  });

  server?.close();
  if (!keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(checks, null, 2));
  const failed = checks.filter((c) => !c.ok);
  log(`${checks.length - failed.length} of ${checks.length} checks passed`);
  process.exitCode = failed.length ? 1 : 0;
}

await main();
