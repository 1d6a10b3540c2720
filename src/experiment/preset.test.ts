// The cpu preset: a named setting declared by each weight-sharing method,
// resolved into strategy.options and dataset.limitTrain where the config
// leaves them unset; explicit fields and flags win.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSearchArgs } from '../cli/search-args.js';
import { WEIGHT_SHARING_METHOD_NAMES, getWeightSharingMethod } from '../weight-sharing/methods.js';
import { checkConfig } from './config.js';

const check = (raw: Record<string, unknown>) => checkConfig({ dataset: { name: 'fashion-mnist' }, ...raw });

test('preset cpu resolves to the documented values (docs/weight-sharing.md, "The cpu preset"), 50/50 split', () => {
  const darts = check({ strategy: { name: 'darts' }, preset: 'cpu' });
  assert.equal(darts.preset, 'cpu');
  assert.deepEqual(darts.dataset, { name: 'fashion-mnist', validFraction: 0.5, limitTrain: 20_000 });
  const o = darts.strategy.options;
  assert.deepEqual([o['epochs'], o['resolution'], o['channels'], o['batch'], o['archLr'], o['timeBudgetSeconds']], [30, 16, 16, 64, 3e-3, 840]);
  // Per method where they differ.
  const epochs = (name: string) => check({ strategy: { name }, preset: 'cpu' }).strategy.options['epochs'];
  assert.deepEqual(['darts2', 'pcdarts', 'gdas', 'proxyless', 'spos'].map(epochs), [12, 40, 60, 60, 60]);
  assert.equal(check({ strategy: { name: 'pcdarts' }, preset: 'cpu' }).strategy.options['archWarmup'], 10);
  // Every method declares it, and its values pass the method's own option schema.
  for (const name of WEIGHT_SHARING_METHOD_NAMES) {
    assert.ok(getWeightSharingMethod(name).presets.cpu, name);
    assert.equal(check({ strategy: { name }, preset: 'cpu', ...(name === 'ofa' ? { space: { name: 'mobilenet' }, estimator: { kind: 'supernet' } } : {}) }).dataset.limitTrain, 20_000);
  }
  // Without a preset, the method's defaults.
  const plain = check({ strategy: { name: 'darts' } });
  assert.equal(plain.strategy.options['epochs'], 10);
  assert.equal(plain.dataset.limitTrain, undefined);
});

test('explicit config fields and flags override the preset', () => {
  const c = check({ strategy: { name: 'gdas', options: { epochs: 5, archLr: 1e-4 } }, preset: 'cpu', dataset: { name: 'fashion-mnist', limitTrain: 300, validFraction: 0.3 } });
  assert.deepEqual([c.strategy.options['epochs'], c.strategy.options['archLr'], c.strategy.options['channels']], [5, 1e-4, 16]);
  assert.deepEqual([c.dataset.limitTrain, c.dataset.validFraction], [300, 0.3]);
  // Flags, before or after --preset.
  for (const argv of [['--strategy', 'darts', '--preset', 'cpu', '--epochs', '3', '--limit-train', '500'], ['--epochs', '3', '--limit-train', '500', '--preset', 'cpu', '--strategy', 'darts']]) {
    const f = checkConfig(parseSearchArgs(argv).raw);
    assert.deepEqual([f.strategy.options['epochs'], f.strategy.options['resolution'], f.dataset.limitTrain], [3, 16, 500], argv.join(' '));
  }
});

test('a preset is refused by name for a multi-trial strategy or a name no method declares', () => {
  assert.throws(() => check({ strategy: { name: 'evolution' }, preset: 'cpu' }), (e: Error & { where?: string }) => e.where === 'preset' && /presets are settings of the weight-sharing methods/.test(e.message));
  assert.throws(() => check({ strategy: { name: 'darts' }, preset: 'gpu' }), (e: Error & { where?: string }) => e.where === 'preset' && /unknown preset 'gpu' of darts, expected one of cpu/.test(e.message));
});
