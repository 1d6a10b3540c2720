// The JSON Schema editors check exp.yaml with (`tsnas schema`): read back
// by zod's own JSON Schema reader, it takes the example config of `tsnas
// init` and refuses what checkConfig refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { runTsnas } from '../testing/cli.js';
import { checkConfig, configJsonSchema, EXAMPLE_CONFIG, parseConfigText } from './config.js';

const editorCheck = z.fromJSONSchema(configJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);

test('the example config names the schema in its first line and the schema takes it', () => {
  assert.match(EXAMPLE_CONFIG.split('\n')[0]!, /^# yaml-language-server: \$schema=\.\/tsnas\.schema\.json$/);
  assert.match(EXAMPLE_CONFIG, /tsnas schema --out tsnas\.schema\.json/);
  const example = parseConfigText(EXAMPLE_CONFIG);
  const r = editorCheck.safeParse(example);
  assert.ok(r.success, JSON.stringify(r.error?.issues));
});

test('the schema checks strategy.options by strategy.name, as checkConfig does', () => {
  const accepted = [
    {},
    { strategy: { options: { population: 4 } } },
    { strategy: { name: 'ga', options: { crossoverKind: 'cell' } } },
    { strategy: { name: 'pcdarts', options: { pcK: 2 } } },
    { objectives: ['accuracy', { name: 'params', direction: 'min', weight: 0.1 }], constraints: ['params <= 1e6'] },
    { estimator: { type: 'composed', then: { type: 'training', epochs: 1 } } },
  ];
  const refused = [
    { strategy: { name: 'evolution', options: { population: 0 } } },
    { strategy: { name: 'evolution', options: { pcK: 2 } } },
    { strategy: { options: { crossoverKind: 'cell' } } },
    { strategy: { name: 'annealing' } },
    { budget: { trails: 5 } },
    { objectives: ['a b'] },
    { constraints: ['params =< 1e6'] },
    { parallel: 0 },
    { estimator: { type: 'guess' } },
  ];
  for (const config of accepted) {
    assert.ok(editorCheck.safeParse(config).success, `schema takes ${JSON.stringify(config)}`);
    assert.doesNotThrow(() => checkConfig(config), JSON.stringify(config));
  }
  for (const config of refused) {
    assert.equal(editorCheck.safeParse(config).success, false, `schema refuses ${JSON.stringify(config)}`);
    assert.throws(() => checkConfig(config), JSON.stringify(config));
  }
});

test('the help texts are the descriptions an editor shows', () => {
  const schema = configJsonSchema() as { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> };
  assert.equal(schema.properties['budget']!.properties!['trials']!.description, 'finished trials to run (at most 10 million)');
  assert.equal(schema.properties['seed']!.description, 'seed of the strategy, the data splits and the weights (32-bit)');
});

test('tsnas schema writes the schema to stdout or to --out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-schema-'));
  try {
    const out = join(dir, 'tsnas.schema.json');
    const written = runTsnas(['schema', '--out', out]);
    assert.equal(written.code, 0, written.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), configJsonSchema());
    const printed = runTsnas(['schema']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.deepEqual(JSON.parse(printed.stdout), configJsonSchema());
    const bad = runTsnas(['schema', '--out', join(dir, 'no', 'such', 'x.json')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--out: directory .* does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
