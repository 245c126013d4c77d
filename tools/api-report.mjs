#!/usr/bin/env node
// The public API of each package, written to packages/<pkg>/api.md from its built declarations
// (dist/*.d.ts of every entry point in its exports map): each exported name with its declaration
// as a user's compiler sees it, doc comments stripped, sorted. Committed, so a change of the public
// API shows in review as a diff of api.md.
//
//   pnpm build && node tools/api-report.mjs           # (re)writes packages/*/api.md
//   pnpm build && node tools/api-report.mjs --check   # CI: fails when any api.md is stale
//   node tools/api-report.mjs --root DIR [--check]    # another tree's packages/
//
// Uses TypeScript 5.9's compiler API (tools/ devDependency): the repo's TypeScript 7 has none.
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(join(ROOT, 'tools', 'package.json'))('typescript');
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** Entry points of a package: exports-map key → the declaration file its "types" condition names. */
function entries(dir, manifest) {
  const out = [];
  for (const [key, value] of Object.entries(manifest.exports ?? { '.': { types: manifest.types } })) {
    const types = typeof value === 'object' && value !== null ? value.types : undefined;
    if (types) out.push([key, join(dir, types)]);
  }
  return out;
}

/** The package directory a declaration file belongs to (through pnpm's symlinks, node_modules/@fusor/x → packages/x). */
const packageDirOf = (file) => /^(.*\/packages\/[^/]+)\//.exec(realpathSync(file))?.[1];

const SIGNATURE = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.WriteArrowStyleSignature;

function declarationText(checker, decl) {
  if (ts.isVariableDeclaration(decl)) {
    // `const abs = E.abs` declares `typeof E.abs`: print the signatures a caller sees instead
    const type = checker.getTypeAtLocation(decl);
    const sigs = type.getCallSignatures();
    const kw = decl.parent.flags & ts.NodeFlags.Const ? 'const' : 'let';
    if (sigs.length && type.getProperties().length === 0) {
      return sigs.map((sig) => `${kw} ${decl.name.getText()}: ${checker.signatureToString(sig, decl, SIGNATURE)};`).join('\n');
    }
    return `${kw} ${decl.name.getText()}: ${checker.typeToString(type, decl, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.MultilineObjectLiterals)};`;
  }
  // an interface that only extends a computed type (Tensor's pointwise methods, mapped from a
  // module of ops): print the members it gets, as a user's editor shows them
  if (ts.isInterfaceDeclaration(decl) && decl.members.length === 0 && decl.heritageClauses) {
    const members = decl.heritageClauses
      .flatMap((h) => h.types)
      .flatMap((t) => checker.getPropertiesOfType(checker.getTypeAtLocation(t)))
      .map((p) => {
        const sigs = checker.getTypeOfSymbolAtLocation(p, decl).getCallSignatures();
        return sigs.map((sig) => `    ${p.getName()}${checker.signatureToString(sig, decl, ts.TypeFormatFlags.NoTruncation)};`).join('\n');
      });
    return `interface ${decl.name.getText()} {\n${members.join('\n')}\n}`;
  }
  // a class or interface prints whole: its members are API
  return printer
    .printNode(ts.EmitHint.Unspecified, decl, decl.getSourceFile())
    .trim()
    .replace(/^export (declare )?|^declare /, '');
}

function describe(checker, symbol, prefix, out, seen, home, foreign) {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const name = `${prefix}${symbol.getName()}`;
  const decls = target.getDeclarations() ?? [];
  // re-exported from another package: named here, described in that package's api.md
  const from = decls.length ? packageDirOf(decls[0].getSourceFile().fileName) : undefined;
  if (from && from !== home) {
    const pkg = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')).name;
    const isNamespace = decls.some((d) => ts.isSourceFile(d) || ts.isModuleDeclaration(d));
    (foreign.get(pkg) ?? foreign.set(pkg, []).get(pkg)).push(isNamespace ? `${name} (namespace)` : name);
    return;
  }
  // `export * as nn from …`: a namespace; list its members under `nn.`
  if (decls.some((d) => ts.isSourceFile(d) || ts.isModuleDeclaration(d))) {
    if (seen.has(target)) return out.push(`### ${name}\n\n(namespace, listed above)`);
    seen.add(target);
    const members = checker.getExportsOfModule(target).sort((a, b) => a.getName().localeCompare(b.getName()));
    out.push(`### ${name}\n\nnamespace${members.length ? '' : ' (empty)'}`);
    for (const m of members) describe(checker, m, `${name}.`, out, seen, home, foreign);
    return;
  }
  const texts = decls.map((d) => declarationText(checker, d)).filter(Boolean);
  out.push(`### ${name}\n\n\`\`\`ts\n${texts.join('\n') || '(no declaration)'}\n\`\`\``);
}

/** One program over every package's entry points (one type-check instead of one per package). */
export function reports(dirs) {
  const all = dirs.map((dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const points = entries(dir, manifest);
    for (const [, file] of points) if (!existsSync(file)) throw new Error(`${file} missing: run pnpm build first`);
    return { dir, manifest, points };
  });
  const program = ts.createProgram(
    all.flatMap((p) => p.points.map(([, f]) => f)),
    { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, strict: true, noEmit: true, skipLibCheck: true, types: [] },
  );
  const checker = program.getTypeChecker();
  return all.map(({ dir, manifest, points }) => {
    const lines = [
      `# ${manifest.name}: public API`,
      '',
      '<!-- Generated by tools/api-report.mjs from the built declarations; do not edit. Regenerate: pnpm build && pnpm api -->',
    ];
    for (const [key, file] of points) {
      const sf = program.getSourceFile(file);
      const moduleSymbol = sf && checker.getSymbolAtLocation(sf);
      const spec = key === '.' ? manifest.name : `${manifest.name}/${key.replace(/^\.\//, '')}`;
      lines.push('', `## ${spec}`, '');
      if (!moduleSymbol) {
        lines.push('(side effects only: no exports)');
        continue;
      }
      const out = [];
      const foreign = new Map();
      const home = realpathSync(dir);
      for (const s of checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.getName().localeCompare(b.getName()))) {
        describe(checker, s, '', out, new Set(), home, foreign);
      }
      for (const [pkg, names] of [...foreign].sort()) out.push(`### re-exported from ${pkg}\n\n${names.map((n) => `\`${n}\``).join(', ')}`);
      lines.push(out.length ? out.join('\n\n') : '(no exports)');
    }
    return { dir, text: `${lines.join('\n')}\n` };
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const checkOnly = process.argv.includes('--check');
  // --root DIR: report on another tree (the tests use a small made-up one)
  const at = process.argv.indexOf('--root');
  const root = at > 0 ? resolve(process.argv[at + 1]) : ROOT;
  const stale = [];
  const dirs = readdirSync(join(root, 'packages'))
    .sort()
    .map((d) => join(root, 'packages', d))
    .filter((dir) => existsSync(join(dir, 'package.json')) && !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private);
  for (const { dir, text: raw } of reports(dirs)) {
    // a type the checker prints as import("/abs/path/…") must not make the report depend on where the tree is
    const text = raw
      .split(`${realpathSync(root)}/`)
      .join('')
      .split(`${root}/`)
      .join('');
    const file = join(dir, 'api.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (old === text) continue;
    stale.push(relative(root, file));
    if (!checkOnly) writeFileSync(file, text);
  }
  if (checkOnly && stale.length) {
    console.error(
      `API reports out of date: ${stale.join(', ')}\nThe public API changed: regenerate with \`pnpm build && pnpm api\`, review the diff and commit it.`,
    );
    process.exit(1);
  }
  console.log(checkOnly ? 'API reports up to date' : stale.length ? `wrote ${stale.join(', ')}` : 'API reports already up to date');
}
