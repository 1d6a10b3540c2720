// Training with inherited weights, and NASH's hill climbing on network
// morphisms (Elsken et al., "Simple and efficient architecture search for
// convolutional neural networks"): from the current network, each of a few
// children applies a short random sequence of the space's function-preserving
// morphisms, inherits the weights and trains for a few epochs with a cosine
// schedule restarted from the base rate (SGDR); the best child on the
// validation split becomes the next parent. Runs in one process: the
// networks travel in memory from parent to child.
import type { Dataset } from '../data/dataset.js';
import { TsnasError } from '../errors.js';
import { buildNetwork, morphismPath } from '../kits/index.js';
import type { BuildNetworkOptions } from '../networks/index.js';
import type { Morphism, MorphismLineage, StateDict } from '../networks/morphism.js';
import type { Module } from '../nn/module.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { evaluate, trainModel, type TrainOptions } from '../train/trainer.js';
import { Rng } from '../util/random.js';

/** A network of a sample, with the morphisms that led to it from its parent's. */
export interface MorphedNetwork {
  readonly sample: Sample;
  readonly net: Module;
  readonly morphisms: readonly string[];
}

/**
 * Applies `count` random morphisms one after another to the parent's
 * network (fewer when a sample has none left; kits' morphismPath). The
 * parent's network is kept.
 */
export function morphNetwork(space: DefinedSpace, parent: { sample: Sample; net: Module }, count: number, rng: Rng, o: BuildNetworkOptions): MorphedNetwork {
  const path = morphismPath(space, parent.sample, count, rng);
  const sample = path.at(-1)?.child ?? parent.sample;
  return { sample, net: inheritAlong(space, parent.net, path, o) ?? cloneNetwork(space, sample, parent.net, o), morphisms: path.map((m) => m.description) };
}

/**
 * The network at the end of a morphism path from `net` (kept), each step's
 * network inheriting the previous one's weights (disposed); null for an
 * empty path.
 */
function inheritAlong(space: DefinedSpace, net: Module, path: readonly Morphism[], o: BuildNetworkOptions): Module | null {
  let current: Module | null = null;
  for (const m of path) {
    const child = buildNetwork(space, m.child, o);
    try {
      m.inherit((current ?? net).stateDict(), child);
    } catch (e) {
      child.dispose();
      current?.dispose();
      throw e;
    }
    current?.dispose();
    current = child;
  }
  return current;
}

/**
 * The network of a lineage's child (src/networks/morphism.ts): the parent's
 * network loaded with parentWeights, then the lineage's morphisms replayed,
 * so it computes what the parent did. Throws a data error when the replayed
 * morphisms do not lead to `expected` (the strategy and this space disagree).
 */
export function inheritedNetwork(space: DefinedSpace, lineage: MorphismLineage, parentWeights: StateDict, expected: Sample, o: BuildNetworkOptions): Module {
  const path = morphismPath(space, lineage.parent, lineage.steps, new Rng(lineage.seed));
  const reached = path.at(-1)?.child ?? lineage.parent;
  if (space.hash(reached) !== space.hash(expected)) {
    throw new TsnasError('data', `morphism lineage: ${lineage.steps} morphisms of seed ${lineage.seed} from ${space.format(lineage.parent)} lead to ${space.format(reached)}, not to the trial's ${space.format(expected)}`);
  }
  const parent = buildNetwork(space, lineage.parent, o);
  try {
    parent.loadStateDict(parentWeights);
    return inheritAlong(space, parent, path, o) ?? cloneNetwork(space, expected, parent, o);
  } finally {
    parent.dispose();
  }
}

function cloneNetwork(space: DefinedSpace, s: Sample, net: Module, o: BuildNetworkOptions): Module {
  const copy = buildNetwork(space, s, o);
  copy.loadStateDict(net.stateDict());
  return copy;
}

export interface HillClimbOptions {
  space: DefinedSpace;
  /** The first parent (NASH starts from a small network). */
  start: Sample;
  network: BuildNetworkOptions;
  train: Dataset;
  valid: Dataset;
  /** Hill-climbing steps (NASH: 8). */
  steps: number;
  /** Children per step (NASH: 8). */
  children: number;
  /** Morphisms applied to make one child (NASH: 5). */
  morphismsPerChild: number;
  /** Epochs of the first network, trained from scratch. */
  startEpochs: number;
  /** Epochs of each child, from its inherited weights (NASH: 17). */
  childEpochs: number;
  /** Training settings (batch, lr, ...) shared by all; the schedule is cosine, restarted for each child. */
  training: Omit<TrainOptions, 'epochs' | 'schedule' | 'valid' | 'onEpoch'>;
  seed?: number;
  /** Called with each trained child. */
  onChild?: (c: ClimbRecord) => void;
}

export interface ClimbRecord {
  step: number;
  sample: Sample;
  parent: Sample | null;
  morphisms: readonly string[];
  validAccuracy: number;
  seconds: number;
}

/** NASH hill climbing; returns every trained network's record and the best one (the last parent). */
export function hillClimbMorphisms(o: HillClimbOptions): { best: ClimbRecord; history: ClimbRecord[] } {
  for (const key of ['steps', 'children', 'morphismsPerChild', 'startEpochs', 'childEpochs'] as const) {
    const least = key === 'startEpochs' || key === 'steps' ? 0 : 1;
    if (!(Number.isInteger(o[key]) && o[key] >= least)) throw new TsnasError('config', `morphism search ${key} must be an integer >= ${least}, got ${o[key]}`);
  }
  const rng = new Rng(o.seed ?? 0);
  const history: ClimbRecord[] = [];
  const trainAndScore = (step: number, m: MorphedNetwork, parent: Sample | null, epochs: number): ClimbRecord => {
    const start = performance.now();
    trainModel(m.net, o.train, { ...o.training, epochs, schedule: 'cosine', seed: rng.int(2 ** 31) });
    const record = { step, sample: m.sample, parent, morphisms: m.morphisms, validAccuracy: evaluate(m.net, o.valid).accuracy, seconds: (performance.now() - start) / 1000 };
    history.push(record);
    o.onChild?.(record);
    return record;
  };
  let current: MorphedNetwork = { sample: o.start, net: buildNetwork(o.space, o.start, o.network), morphisms: [] };
  let best = trainAndScore(0, current, null, o.startEpochs);
  try {
    for (let step = 1; step <= o.steps; step++) {
      let stepBest: { record: ClimbRecord; child: MorphedNetwork } | null = null;
      for (let c = 0; c < o.children; c++) {
        const child = morphNetwork(o.space, current, o.morphismsPerChild, rng, o.network);
        const record = trainAndScore(step, child, current.sample, o.childEpochs);
        if (!stepBest || record.validAccuracy > stepBest.record.validAccuracy) {
          stepBest?.child.net.dispose();
          stepBest = { record, child };
        } else child.net.dispose();
      }
      // NASH moves to the best child even when it is no better than its parent: the children are the parent trained further.
      current.net.dispose();
      current = stepBest!.child;
      best = stepBest!.record;
    }
  } finally {
    current.net.dispose();
  }
  return { best, history };
}
