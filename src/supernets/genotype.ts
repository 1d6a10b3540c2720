// From architecture weights to an architecture, for both supernet spaces.
//
// DARTS space (DARTS's genotype()): for each node keep the two incoming
// edges whose strongest non-'none' operation weighs most; each kept edge's
// operation is its argmax excluding 'none'. With edge normalisation
// (PC-DARTS), an edge's operation weights are first multiplied by its β
// weight. NAS-Bench-201 keeps every edge; each edge takes its argmax over
// all five operations, 'none' included (as XAutoDL's DARTS on NAS-Bench-201),
// which is what lets a collapse to 'none' show.
import { TsnasError } from '../errors.js';
import { DARTS_PRIMITIVES } from '../nn/ops.js';
import { genotypeToSample, formatGenotype, type Genotype, type GenotypeEdge } from '../spaces/darts.js';
import { NB201_EDGES, NB201_OPS, nb201EdgeLabel, nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import { dartsEdgeLabel } from './darts.js';

/** Edge label -> the mixing weights of its candidates (in the supernet's candidate order). */
export type ArchWeights = Record<string, number[]>;
/** Node key (e.g. 'normal_node3', 'node2') -> softmax(β) over its incoming edges. */
export type EdgeWeights = Record<string, number[]>;

export type SupernetSpace = 'nb201' | 'darts';

export interface DerivedArchitecture {
  /** The space's text form: a NAS-Bench-201 string or a DARTS genotype. */
  arch: string;
  sample: Sample;
  genotype?: Genotype;
  /** Fraction of the derived edges that are skip_connect. */
  skipFraction: number;
  /** Fraction of the derived edges that are 'none' (NAS-Bench-201 only; DARTS never keeps 'none'). */
  noneFraction: number;
  /** Fraction of the derived edges that are parameter-free (none, skip, pooling). */
  parameterFreeFraction: number;
}

function weightsOf(weights: ArchWeights, label: string, n: number): number[] {
  const w = weights[label];
  if (!w || w.length !== n) throw new TsnasError('internal', `architecture weights for '${label}': expected ${n} values, found ${w ? w.length : 'none'}`);
  return w;
}

const parameterFree = (op: string) => op === 'none' || op === 'skip_connect' || op.includes('pool');

/** The DARTS genotype of hand-set or learned weights (candidates in DARTS_PRIMITIVES order). */
export function deriveDartsGenotype(weights: ArchWeights, o: { steps?: number; edgeWeights?: EdgeWeights } = {}): Genotype {
  const steps = o.steps ?? 4;
  const ops = DARTS_PRIMITIVES as readonly string[];
  const none = ops.indexOf('none');
  const cellGenotype = (cell: 'normal' | 'reduce'): GenotypeEdge[] => {
    const edges: GenotypeEdge[] = [];
    for (let to = 2; to < steps + 2; to++) {
      const beta = o.edgeWeights?.[`${cell}_node${to}`];
      const candidates: { from: number; strength: number; op: string }[] = [];
      for (let from = 0; from < to; from++) {
        const w = weightsOf(weights, dartsEdgeLabel(cell, to, from), ops.length).map((v) => v * (beta ? beta[from]! : 1));
        let best = -1;
        for (let k = 0; k < w.length; k++) if (k !== none && (best < 0 || w[k]! > w[best]!)) best = k;
        candidates.push({ from, strength: w[best]!, op: ops[best]! });
      }
      // Stable sort: on equal strength the earlier input wins, as Python's sorted.
      candidates.sort((a, b) => b.strength - a.strength);
      for (const c of candidates.slice(0, 2)) edges.push([c.op, c.from]);
    }
    return edges;
  };
  const concat = Array.from({ length: steps }, (_, i) => i + 2);
  return { normal: cellGenotype('normal'), normal_concat: concat, reduce: cellGenotype('reduce'), reduce_concat: [...concat] };
}

/** The NAS-Bench-201 ops (edge order) of weights labelled edge_{to}_{from}, candidates in NB201_OPS order. */
export function deriveNb201Ops(weights: ArchWeights): string[] {
  return NB201_EDGES.map(([to, from]) => {
    const w = weightsOf(weights, nb201EdgeLabel(to, from), NB201_OPS.length);
    return NB201_OPS[w.indexOf(Math.max(...w))]!;
  });
}

/** The architecture a supernet's weights stand for, with collapse diagnostics. */
export function deriveArchitecture(space: SupernetSpace, weights: ArchWeights, edgeWeights?: EdgeWeights): DerivedArchitecture {
  if (space === 'nb201') {
    const ops = deriveNb201Ops(weights);
    const s = nb201Space();
    const sample = s.fromOps(ops);
    return {
      arch: s.format(sample),
      sample,
      ...fractions(ops),
    };
  }
  const genotype = deriveDartsGenotype(weights, { edgeWeights });
  const ops = [...genotype.normal, ...genotype.reduce].map(([op]) => op);
  return { arch: formatGenotype(genotype), sample: genotypeToSample(genotype), genotype, ...fractions(ops) };
}

function fractions(ops: readonly string[]) {
  const share = (test: (op: string) => boolean) => ops.filter(test).length / ops.length;
  return {
    skipFraction: share((op) => op === 'skip_connect'),
    noneFraction: share((op) => op === 'none'),
    parameterFreeFraction: share(parameterFree),
  };
}
