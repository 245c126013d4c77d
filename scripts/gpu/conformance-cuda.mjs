// The conformance suite on one device, in plain Node (no vitest): every golden case and check of
// @fusor/conformance, run through the package's own runCheck, with its named skips. Prints one
// line per failure and a summary; exits 1 if anything failed or the device is unavailable.
//
//   node scripts/gpu/conformance-cuda.mjs [device] [--only REGEX] [--fixtures DIR] [--json FILE] [--budget SECONDS]
//                                         [--diagnose REGEX]
//
// Every failing case is run once more (does it fail again?) and diagnosed (diagnoseCase: its
// kernels' source, then each node of its graph realized alone against the interpreter), as are
// the cases --diagnose names even when they pass: a GPU run is the only place to see these.
// --budget stops starting checks after that many seconds (the summary then says how many were
// not run), so a run inside a time limit always ends with its summary.
// Bundled by scripts/gpu/prepare.sh into .gpu/conformance-cuda.mjs, where the fixtures sit in
// .gpu/fixtures/. device defaults to 'cuda'; 'cpu' checks the runner itself.
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import '@fusor/backend-cuda';
import { compilerStats, getBackend } from '@fusor/runtime';
import { checksOf, diagnoseCase, loadFixtures, runCheck, skipReason } from '@fusor/conformance';
import * as torch from '@fusor/tensor';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const only = option('--only');
const fixturesArg = option('--fixtures');
const jsonOut = option('--json');
const budget = Number(option('--budget') ?? Infinity);
const diagnose = option('--diagnose');
const device = args[0] ?? 'cuda';

function fixtureDir() {
  if (fixturesArg) return pathToFileURL(`${fixturesArg.replace(/\/$/, '')}/`);
  const beside = new URL('./fixtures/', import.meta.url); // the bundle's copy
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../packages/conformance/fixtures/', import.meta.url); // run from the repository
}

const started = performance.now();
const backend = getBackend(device);
const available = backend.isAvailable();
if (!available.ok) {
  console.log(`conformance on ${device}: not run — ${device} is unavailable: ${available.reason}`);
  process.exit(1);
}
console.log(`conformance on ${device}: ${await torch.init(device)}`);

const files = loadFixtures(fixtureDir());
const pattern = only ? new RegExp(only) : null;
let passed = 0;
let notRun = 0;
let done = 0;
const failed = [];
const skipped = new Map();
const elapsed = () => (performance.now() - started) / 1000;
for (const file of files) {
  for (const c of file.cases) {
    if (pattern && !pattern.test(c.id)) continue;
    for (const check of checksOf(c)) {
      if (elapsed() > budget) {
        notRun++;
        continue;
      }
      if (++done % 500 === 0) console.log(`… ${done} checks in ${elapsed().toFixed(1)} s, ${compilerStats().compiled} kernels compiled`);
      const name = check === 'values' || check === 'error' ? c.id : `${c.id} · ${check}`;
      const why = skipReason(c, check, device, backend.capabilities.dtypes, []);
      if (why !== undefined) {
        skipped.set(why, (skipped.get(why) ?? 0) + 1);
        continue;
      }
      try {
        await runCheck(c, check, device);
        passed++;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        failed.push({ name, message });
        console.log(`FAIL ${name}: ${message.split('\n').slice(0, 6).join('\n    ')}`);
      }
    }
  }
}
await backend.synchronize();

// failures again, and diagnoses (at most 8 cases)
const failedIds = new Set(failed.map((f) => f.name.split(' · ')[0]));
const toDiagnose = [];
for (const file of files) {
  for (const c of file.cases) {
    if (failedIds.has(c.id) || (diagnose && new RegExp(diagnose).test(c.id))) toDiagnose.push(c);
  }
}
for (const c of toDiagnose.slice(0, 8)) {
  if (failedIds.has(c.id)) {
    const again = [];
    for (const check of checksOf(c)) {
      try {
        await runCheck(c, check, device);
        again.push(`${check} passes`);
      } catch (e) {
        again.push(`${check} fails (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
      }
    }
    console.log(`rerun of ${c.id}: ${again.join('; ')}`);
  }
  console.log(await diagnoseCase(c, device));
}
const seconds = (performance.now() - started) / 1000;
const nSkipped = [...skipped.values()].reduce((a, b) => a + b, 0);
for (const [why, n] of skipped) console.log(`skipped ${n}: ${why}`);
const cut = notRun ? `, ${notRun} not run (the ${budget} s budget ran out)` : '';
const summary = `conformance on ${device}: ${passed} passed, ${failed.length} failed, ${nSkipped} skipped${cut} (${files.reduce((n, f) => n + f.cases.length, 0)} cases, torch ${files[0]?.torch ?? '?'} goldens; ${compilerStats().compiled} kernels compiled) in ${seconds.toFixed(1)} s`;
console.log(summary);
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ device, passed, failed, skipped: Object.fromEntries(skipped), notRun, seconds, summary }, null, 2));
}
process.exit(failed.length || notRun ? 1 : 0);
