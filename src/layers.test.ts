// The import graph of src/: no cycle among files, and no file importing
// from a higher layer than its own. A layer is a top-level folder of src/
// (or a top-level file); LAYERS lists them from the bottom up. Type-only
// imports count: a type imported upward couples the lower layer to the
// higher one just as well (move the type down instead).
//
// Test files are exempt from the layer rule (they are leaves: nothing
// imports them, and a test may assemble its subject with higher-layer
// pieces, e.g. a kit from the registry), but not from the cycle check; only
// they may import src/testing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layers from the bottom up; a file may import from its own layer and those
 * before it. Less obvious places: testing above tensor (assertClose reads
 * tensors); strategies below weight-sharing (ENAS samples with the
 * strategies' controller); report below experiment (pages and charts; what
 * an experiment's report shows is experiment/report.ts, which the main job
 * uses too); store needs only errors, so it could sit lower.
 */
const LAYERS = [
  'errors', 'util', 'tensor', 'testing', 'nn', 'data', 'train', 'spaces', 'viz', 'networks', 'hardware', 'supernets',
  'export', 'kits', 'predictors', 'strategies', 'weight-sharing', 'benchmarks', 'estimators', 'store', 'report', 'experiment',
  'dashboard', 'distributed', 'workloads', 'cli', 'index',
];

interface Import {
  from: string;
  to: string;
  line: number;
}

// Static imports and re-exports (also `import type`, over several lines),
// side-effect imports and dynamic imports of a literal path.
const IMPORT = /^[ \t]*(?:import|export)\b(?:[^'";]*?\bfrom)?\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Relative module paths a TypeScript source imports, with their line numbers (comments ignored). */
export function importsOf(text: string): { spec: string; line: number }[] {
  // Blank comments out but keep newlines, so that line numbers stay right.
  const code = text.replace(/\/\*[\s\S]*?\*\/|^[ \t]*\/\/.*$/gm, (c) => c.replace(/[^\n]/g, ' '));
  const out: { spec: string; line: number }[] = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) continue;
    const start = m.index! + m[0].lastIndexOf(spec);
    out.push({ spec, line: code.slice(0, start).split('\n').length });
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const isTest = (file: string) => file.endsWith('.test.ts');
const layerOf = (file: string) => file.split('/')[0]!.replace(/\.ts$/, '');

/** Every relative import among the files under root (paths relative to root, with '/'). */
export function importGraph(root: string): { files: string[]; imports: Import[]; unresolved: string[] } {
  const files = sourceFiles(root).map((f) => relative(root, f).split(sep).join('/')).sort();
  const imports: Import[] = [];
  const unresolved: string[] = [];
  for (const from of files) {
    for (const { spec, line } of importsOf(readFileSync(join(root, from), 'utf8'))) {
      const target = resolve(dirname(join(root, from)), spec.replace(/\.js$/, '.ts'));
      const to = relative(root, target).split(sep).join('/');
      if (existsSync(target)) imports.push({ from, to, line });
      else unresolved.push(`${from}:${line} imports '${spec}', which is not a file under src/`);
    }
  }
  return { files, imports, unresolved };
}

/** The import cycles: one path per strongly connected component of more than one file (or a file importing itself). */
export function importCycles(imports: readonly Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const i of imports) next.set(i.from, [...(next.get(i.from) ?? []), i.to]);
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)?.includes(v)) components.push(component);
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  // A path through each component: breadth-first from its first file back to itself.
  return components.map((component) => {
    const inside = new Set(component);
    const start = [...component].sort()[0]!;
    const cameFrom = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of next.get(v) ?? []) {
        if (!inside.has(w) || cameFrom.has(w)) continue;
        cameFrom.set(w, v);
        if (w === start) queue.length = 0;
        else queue.push(w);
      }
    }
    const path = [start];
    for (let v = cameFrom.get(start)!; v !== start; v = cameFrom.get(v)!) path.unshift(v);
    return [start, ...path];
  });
}

/** Imports that break the layer order (tests excepted), and non-test files importing src/testing. */
export function layerViolations(files: readonly string[], imports: readonly Import[]): string[] {
  const problems: string[] = [];
  for (const f of files) {
    if (!isTest(f) && !LAYERS.includes(layerOf(f))) problems.push(`${f}: its layer '${layerOf(f)}' is not in LAYERS (add it where it belongs)`);
  }
  for (const i of imports) {
    const [a, b] = [layerOf(i.from), layerOf(i.to)];
    // A layer missing from LAYERS is reported once above, not at each import.
    if (isTest(i.from) || !LAYERS.includes(a) || !LAYERS.includes(b)) continue;
    if (b === 'testing' && a !== 'testing') problems.push(`${i.from}:${i.line} imports ${i.to}: only tests may use src/testing`);
    else if (LAYERS.indexOf(b) > LAYERS.indexOf(a)) problems.push(`${i.from}:${i.line} imports ${i.to}: layer ${a} is below ${b}`);
  }
  return problems;
}

const srcRoot = fileURLToPath(new URL('../src/', import.meta.url));

test('the import parser finds every form of relative import, and nothing in comments', () => {
  const text = [
    "import { a } from './a.js';",
    'import type {',
    '  B,',
    "} from '../b.js';",
    "export * from './c.js';",
    "export { d, type D } from './d.js';",
    "import './e.js';",
    // Split so that this file does not import ./f.js itself.
    "const f = await imp" + "ort('./f.js');",
    "import { readFileSync } from 'node:fs';",
    "// import { g } from './g.js';",
    "/* import { h } from './h.js'; */",
    "const s = 'import x from \"./i.js\"';",
  ].join('\n');
  assert.deepEqual(importsOf(text), [
    { spec: './a.js', line: 1 },
    { spec: '../b.js', line: 4 },
    { spec: './c.js', line: 5 },
    { spec: './d.js', line: 6 },
    { spec: './e.js', line: 7 },
    { spec: './f.js', line: 8 },
  ]);
});

test('cycles are found with their path; layer breaches are all listed', () => {
  const imports = [
    { from: 'experiment/pool.ts', to: 'distributed/coordinator.ts', line: 3 },
    { from: 'distributed/coordinator.ts', to: 'experiment/pool.ts', line: 5 },
    { from: 'nn/x.ts', to: 'nn/x.ts', line: 1 },
    { from: 'tensor/a.ts', to: 'nn/x.ts', line: 2 },
    { from: 'tensor/a.test.ts', to: 'cli/main.ts', line: 2 },
    { from: 'nn/y.ts', to: 'testing/cli.ts', line: 4 },
  ];
  assert.deepEqual(importCycles(imports), [
    ['distributed/coordinator.ts', 'experiment/pool.ts', 'distributed/coordinator.ts'],
    ['nn/x.ts', 'nn/x.ts'],
  ]);
  const files = ['tensor/a.ts', 'nn/x.ts', 'nowhere/z.ts', 'top.test.ts'];
  assert.deepEqual(layerViolations(files, imports), [
    "nowhere/z.ts: its layer 'nowhere' is not in LAYERS (add it where it belongs)",
    'experiment/pool.ts:3 imports distributed/coordinator.ts: layer experiment is below distributed',
    'tensor/a.ts:2 imports nn/x.ts: layer tensor is below nn',
    'nn/y.ts:4 imports testing/cli.ts: only tests may use src/testing',
  ]);
});

test('src/ has no import cycle and no import from a higher layer', () => {
  const { files, imports, unresolved } = importGraph(srcRoot);
  assert.ok(files.length > 100 && imports.length > 500, `expected the whole of src/, found ${files.length} files and ${imports.length} imports`);
  const problems = [
    ...unresolved,
    ...importCycles(imports).map((c) => `import cycle: ${c.join(' -> ')}`),
    ...layerViolations(files, imports),
  ];
  assert.deepEqual(problems, [], `${problems.length} problem(s) in the import graph of src/ (layers, bottom up: ${LAYERS.join(', ')}):\n  ${problems.join('\n  ')}`);
});
