// Gradient-boosted regression trees in plain TypeScript, on tabular features
// of a sample: the space's encoding, graph features of its cells and, when a
// source is given, proxy scores. Trees suit these inputs: they ignore
// monotone rescaling (proxy scores span twenty orders of magnitude), mix
// binary and count features, and fit a few hundred samples in milliseconds.
// Squared loss; each tree sees a row subsample and a column subsample.
import type { DefinedSpace } from '../spaces/space.js';
import type { EncodingKind, Sample, SearchSpace } from '../spaces/types.js';
import { TsnasError } from '../errors.js';
import { Rng } from '../util/random.js';
import { graphFeatureNames, graphFeatures, proxyFeatureRows, type ProxyFeatureSource } from './features.js';
import { Standardizer, type Prediction, type Predictor, type PredictorNeeds } from './types.js';

/** Which features describe a sample. */
export interface TabularFeatureOptions {
  /** The space's encoding as features (default 'onehot'); false for none. */
  encoding?: EncodingKind | false;
  /** Graph features of the cells (default true; only spaces with cell graphs have them). */
  graphFeatures?: boolean;
  /** Proxy scores as features. */
  proxies?: ProxyFeatureSource;
}

export interface TabularFeatures {
  readonly names: readonly string[];
  rows(samples: readonly Sample[]): number[][];
}

/** Tabular features of any space: its encoding, graph features when it has cell graphs (a DefinedSpace), proxy scores when given. */
export function tabularFeatures(space: SearchSpace & Partial<Pick<DefinedSpace, 'graphs'>>, o: TabularFeatureOptions = {}): TabularFeatures {
  const encoding = o.encoding ?? 'onehot';
  const example = space.sample(new Rng(0));
  const graphSpace = typeof space.graphs === 'function' ? (space as Pick<DefinedSpace, 'graphs'>) : undefined;
  const graphs = (o.graphFeatures ?? true) && graphSpace !== undefined && graphSpace.graphs(example).length > 0;
  const names: string[] = [];
  if (encoding !== false) names.push(...space.encode(example, encoding).map((_, i) => `${encoding}[${i}]`));
  if (graphs) names.push(...graphFeatureNames(graphSpace!, example));
  if (o.proxies) names.push(...o.proxies.names.map((n) => `proxy.${n}`));
  if (names.length === 0) throw new TsnasError('usage', 'tabular features: no features chosen (encoding false, no graph features, no proxies)');
  return {
    names,
    rows(samples) {
      const proxyRows = o.proxies ? proxyFeatureRows(o.proxies, samples) : undefined;
      return samples.map((s, i) => [
        ...(encoding !== false ? space.encode(s, encoding) : []),
        ...(graphs ? graphFeatures(graphSpace!, s) : []),
        ...(proxyRows ? proxyRows[i]! : []),
      ]);
    },
  };
}

/** The trees' settings. */
export interface TreeOptions {
  /** Trees (default 300). */
  trees?: number;
  /** Depth of each tree (default 4). */
  depth?: number;
  /** Shrinkage of each tree's contribution (default 0.05). */
  learningRate?: number;
  /** Share of the rows each tree is fit on (default 0.8). */
  rowSample?: number;
  /** Share of the features each tree may split on (default 0.5). */
  columnSample?: number;
  /** Fewest rows in a leaf (default 3). */
  minLeaf?: number;
  /** L2 penalty on leaf values (default 1). */
  lambda?: number;
  seed?: number;
}

export interface BoostedTreesOptions extends TreeOptions, TabularFeatureOptions {}

/** A regression tree as flat arrays: node k splits on feature[k] at threshold[k] (left: value ≤ threshold), or is a leaf (feature −1). */
interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

function predictTree(t: Tree, x: readonly number[]): number {
  let k = 0;
  while (t.feature[k]! >= 0) k = x[t.feature[k]!]! <= t.threshold[k]! ? t.left[k]! : t.right[k]!;
  return t.value[k]!;
}

/** Boosted regression trees on feature rows (the model behind 'gbt'; strategies use it on rows they computed once). */
export class BoostedTrees {
  private readonly o: Required<TreeOptions>;
  private fitted: { trees: Tree[]; scaler: Standardizer } | undefined;

  constructor(options: TreeOptions = {}) {
    this.o = {
      trees: options.trees ?? 300, depth: options.depth ?? 4, learningRate: options.learningRate ?? 0.05, rowSample: options.rowSample ?? 0.8,
      columnSample: options.columnSample ?? 0.5, minLeaf: options.minLeaf ?? 3, lambda: options.lambda ?? 1, seed: options.seed ?? 0,
    };
    const check = (ok: boolean, field: string, v: number) => {
      if (!ok) throw new TsnasError('usage', `gbt option ${field} is out of range: ${v}`, { where: field });
    };
    check(Number.isInteger(this.o.trees) && this.o.trees >= 1, 'trees', this.o.trees);
    check(Number.isInteger(this.o.depth) && this.o.depth >= 1, 'depth', this.o.depth);
    check(this.o.learningRate > 0, 'learningRate', this.o.learningRate);
    check(this.o.rowSample > 0 && this.o.rowSample <= 1, 'rowSample', this.o.rowSample);
    check(this.o.columnSample > 0 && this.o.columnSample <= 1, 'columnSample', this.o.columnSample);
    check(Number.isInteger(this.o.minLeaf) && this.o.minLeaf >= 1, 'minLeaf', this.o.minLeaf);
    check(this.o.lambda >= 0, 'lambda', this.o.lambda);
  }

  fit(x: readonly (readonly number[])[], values: readonly number[]): void {
    if (x.length !== values.length) throw new TsnasError('usage', `fit got ${x.length} rows but ${values.length} values`);
    if (x.length < 2) throw new TsnasError('usage', `gbt needs at least 2 training samples, got ${x.length}`);
    this.fitted = this.fitRows(x, values);
  }

  predict(x: readonly (readonly number[])[]): number[] {
    const f = this.fitted;
    if (!f) throw new TsnasError('state', 'gbt: predict before fit');
    return f.scaler.inverse(x.map((row) => f.trees.reduce((s, t) => s + predictTree(t, row), 0)));
  }

  private fitRows(x: readonly (readonly number[])[], values: readonly number[]): { trees: Tree[]; scaler: Standardizer } {
    const n = x.length;
    const d = x[0]!.length;
    const scaler = new Standardizer(values);
    const y = scaler.forward(values);
    const rng = new Rng(this.o.seed);
    // Each feature's row order, sorted once: a node's split search walks it, skipping rows not in the node.
    const order = Array.from({ length: d }, (_, j) => Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]![j]! - x[b]![j]!));
    const prediction = new Float64Array(n);
    const residual = new Float64Array(n);
    const nodeOf = new Int32Array(n);
    const trees: Tree[] = [];
    const rowCount = Math.max(2, Math.round(this.o.rowSample * n));
    const colCount = Math.max(1, Math.round(this.o.columnSample * d));
    for (let t = 0; t < this.o.trees; t++) {
      for (let i = 0; i < n; i++) residual[i] = y[i]! - prediction[i]!;
      const rows = rng.permutation(n).slice(0, rowCount);
      const columns = rng.permutation(d).slice(0, colCount);
      nodeOf.fill(-1);
      for (const i of rows) nodeOf[i] = 0;
      const tree: Tree = { feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0] };
      // Grow level by level; frontier holds nodes that may still split.
      let frontier = [0];
      for (let level = 0; level < this.o.depth && frontier.length > 0; level++) {
        const next: number[] = [];
        for (const node of frontier) {
          const split = this.bestSplit(node, nodeOf, residual, x, order, columns);
          if (!split) continue;
          const l = tree.feature.length;
          for (const k of [l, l + 1]) {
            tree.feature[k] = -1;
            tree.threshold[k] = 0;
            tree.left[k] = -1;
            tree.right[k] = -1;
            tree.value[k] = 0;
          }
          tree.feature[node] = split.feature;
          tree.threshold[node] = split.threshold;
          tree.left[node] = l;
          tree.right[node] = l + 1;
          for (let i = 0; i < n; i++) if (nodeOf[i] === node) nodeOf[i] = x[i]![split.feature]! <= split.threshold ? l : l + 1;
          next.push(l, l + 1);
        }
        frontier = next;
      }
      const sum = new Map<number, number>();
      const count = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const k = nodeOf[i]!;
        if (k < 0) continue;
        sum.set(k, (sum.get(k) ?? 0) + residual[i]!);
        count.set(k, (count.get(k) ?? 0) + 1);
      }
      for (const [k, s] of sum) tree.value[k] = (this.o.learningRate * s) / (count.get(k)! + this.o.lambda);
      for (let i = 0; i < n; i++) prediction[i]! += predictTree(tree, x[i]!);
      trees.push(tree);
    }
    return { trees, scaler };
  }

  /** The split of `node` over the allowed columns that most reduces the squared error, or undefined. */
  private bestSplit(node: number, nodeOf: Int32Array, r: Float64Array, x: readonly (readonly number[])[], order: number[][], columns: number[]) {
    let total = 0;
    let count = 0;
    for (let i = 0; i < nodeOf.length; i++) {
      if (nodeOf[i] === node) {
        total += r[i]!;
        count++;
      }
    }
    const minLeaf = this.o.minLeaf;
    if (count < 2 * minLeaf) return undefined;
    const lambda = this.o.lambda;
    const parentScore = (total * total) / (count + lambda);
    let best: { feature: number; threshold: number; gain: number } | undefined;
    for (const j of columns) {
      let leftSum = 0;
      let leftCount = 0;
      let previous = NaN;
      for (const i of order[j]!) {
        if (nodeOf[i] !== node) continue;
        const v = x[i]![j]!;
        // A split lies between two distinct values, with at least minLeaf rows on each side.
        if (leftCount >= minLeaf && count - leftCount >= minLeaf && v > previous) {
          const rightSum = total - leftSum;
          const gain = (leftSum * leftSum) / (leftCount + lambda) + (rightSum * rightSum) / (count - leftCount + lambda) - parentScore;
          if (gain > 1e-12 && (!best || gain > best.gain)) best = { feature: j, threshold: (previous + v) / 2, gain };
        }
        leftSum += r[i]!;
        leftCount++;
        previous = v;
      }
    }
    return best;
  }

}

export class BoostedTreesPredictor implements Predictor {
  readonly name = 'gbt';
  readonly needs: PredictorNeeds;
  private readonly features: TabularFeatures;
  private model: BoostedTrees;

  constructor(space: DefinedSpace, options: BoostedTreesOptions = {}) {
    this.features = tabularFeatures(space, options);
    this.model = new BoostedTrees(options);
    this.needs = { input: 'encoding', encoding: options.encoding === false ? undefined : options.encoding ?? 'onehot', partialCurves: false, minTrainingSamples: 10, uncertainty: false };
  }

  /** The feature names, in column order. */
  get featureNames(): readonly string[] {
    return this.features.names;
  }

  fit(samples: readonly Sample[], values: readonly number[]): void {
    if (samples.length !== values.length) throw new TsnasError('usage', `fit got ${samples.length} samples but ${values.length} values`);
    this.model.fit(this.features.rows(samples), values);
  }

  query(samples: readonly Sample[]): Prediction {
    const mean = this.model.predict(this.features.rows(samples));
    return { mean, std: mean.map(() => 0) };
  }

  dispose(): void {}
}
