#!/usr/bin/env node
// Package boundaries: which package may import which, as the README's package table states
// (its "depends on" column; the arrows of docs/ARCHITECTURE.md and DESIGN.md). Fails when
//   - a package's src/ imports a @fusor/* package its row does not list (backends never import
//     tensor, the frontend imports no backend but cpu, nothing imports the umbrella …);
//   - src/ imports a @fusor/* package its package.json does not declare, or package.json declares
//     a @fusor/* dependency the table does not allow;
//   - a relative import in src/ leaves the package (../../other/src), which bypasses all of the above;
//   - files of one package's src/ import each other in a circle (imports of types only do not count).
// Only src/ (what ships) is checked: tests run inside the workspace and may reach any package
// (backend tests use tensor and conformance through relative paths, as devDependencies on them
// would make a cycle in the build graph).
//
//   node tools/check-boundaries.mjs [--root DIR]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TABLE_FILE = 'README.md';

/** The "## Packages" table: `@fusor/x` (or `fusor`) → the short names in its "depends on" cell. */
export function readTable(markdown) {
  const section = markdown.split(/^## Packages\s*$/m)[1];
  if (!section) throw new Error(`${TABLE_FILE} has no "## Packages" section`);
  const rows = section.split('\n').filter((l) => l.startsWith('|'));
  const header = rows[0].split('|').map((c) => c.trim().toLowerCase());
  const col = header.indexOf('depends on');
  if (col < 0) throw new Error(`${TABLE_FILE}'s package table has no "depends on" column`);
  const table = new Map();
  for (const row of rows.slice(2)) {
    const cells = row.split('|').map((c) => c.trim());
    const name = /`([^`]+)`/.exec(cells[1])?.[1];
    if (!name) continue;
    const deps = cells[col] === '—' || cells[col] === '-' || cells[col] === '' ? [] : cells[col].split(',').map((d) => d.trim().replace(/`/g, ''));
    table.set(name, new Set(deps.map((d) => (d.startsWith('@fusor/') || d === 'fusor' ? d : `@fusor/${d}`))));
  }
  return table;
}

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist') walk(p, out);
    } else if (/\.(ts|tsx|mts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Module specifiers of static imports, re-exports, side-effect imports and dynamic import()s. */
export function importsOf(source) {
  const out = [];
  const re = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const spec = m[1] ?? m[2];
    // text inside a message ("import '@fusor/backend-${type}' to register it") is not an import
    if (!/[\s$]/.test(spec)) out.push(spec);
  }
  return out;
}

/**
 * Relative specifiers of the imports that load code: `import type`, `export type` and imports
 * whose every name is `type …` are erased by the compiler and load nothing.
 */
export function valueImportsOf(source) {
  const out = [];
  const re = /(?:^|[\s;])(import|export)\s+(type\s+)?([\w*${}\s,]+?\s+from\s+)?['"](\.[^'"]+)['"]/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    if (m[2]) continue;
    const names = /\{([^}]*)\}/.exec(m[3] ?? '');
    const outside = (m[3] ?? '')
      .replace(/\{[^}]*\}/, '')
      .replace(/\bfrom\b/, '')
      .replace(/[\s,]/g, '');
    if (names && !outside && names[1].split(',').every((n) => !n.trim() || /^type\s/.test(n.trim()))) continue;
    out.push(m[4]);
  }
  return out;
}

/** Circles of code-loading imports among one package's src files (each reported once, as a → b → … → a). */
export function importCircles(files) {
  const key = (f) => f.replace(/\.(ts|mts|js|mjs)$/, '');
  const byKey = new Map(files.map((f) => [key(f), f]));
  const edges = new Map(
    files.map((f) => [
      f,
      valueImportsOf(readFileSync(f, 'utf8'))
        .map((spec) => byKey.get(key(resolve(dirname(f), spec))))
        .filter(Boolean),
    ]),
  );
  const circles = [];
  const state = new Map(); // 1: on the current path, 2: done
  const path = [];
  const visit = (f) => {
    state.set(f, 1);
    path.push(f);
    for (const g of edges.get(f)) {
      if (state.get(g) === 1) circles.push([...path.slice(path.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    path.pop();
    state.set(f, 2);
  };
  for (const f of [...files].sort()) if (!state.has(f)) visit(f);
  return circles;
}

const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const isOurs = (name) => name.startsWith('@fusor/') || name === 'fusor';

export function check(root = ROOT) {
  const table = readTable(readFileSync(join(root, TABLE_FILE), 'utf8'));
  const problems = [];
  const dirs = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')));
  for (const d of dirs) {
    const dir = join(root, 'packages', d);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const allowed = table.get(pkg.name);
    if (!allowed) {
      problems.push(`${pkg.name}: no row in ${TABLE_FILE}'s package table (add one with what it may depend on)`);
      continue;
    }
    const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies }).filter(isOurs));
    for (const dep of declared)
      if (!allowed.has(dep)) problems.push(`${pkg.name}: package.json depends on ${dep}, which ${TABLE_FILE}'s table does not allow`);
    // a circle makes load order matter (a module may see another's exports before they exist)
    for (const circle of importCircles(walk(join(dir, 'src')))) {
      problems.push(`${pkg.name}: import circle ${circle.map((f) => relative(join(dir, 'src'), f)).join(' → ')}`);
    }
    for (const file of walk(join(dir, 'src'))) {
      const rel = relative(root, file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (!target.startsWith(`${dir}/`)) problems.push(`${rel}: relative import '${spec}' leaves ${pkg.name}; import the package by name`);
          continue;
        }
        const name = packageOf(spec);
        if (!isOurs(name) || name === pkg.name) continue;
        if (!allowed.has(name))
          problems.push(`${rel}: imports ${name}, but ${pkg.name} may import only ${[...allowed].join(', ') || 'nothing'} (${TABLE_FILE})`);
        else if (!declared.has(name)) problems.push(`${rel}: imports ${name}, missing from ${pkg.name}'s dependencies`);
      }
    }
  }
  for (const name of table.keys()) {
    if (!dirs.some((d) => JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')).name === name)) {
      problems.push(`${TABLE_FILE}'s table lists ${name}, which is not a package under packages/`);
    }
  }
  return { packages: dirs.length, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // --root DIR: check another tree (the tests use a small made-up repository)
  const at = process.argv.indexOf('--root');
  const { packages, problems } = check(at > 0 ? resolve(process.argv[at + 1]) : ROOT);
  if (problems.length) {
    console.error(`package boundaries: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`package boundaries: ${packages} packages import only what ${TABLE_FILE}'s table allows`);
}
