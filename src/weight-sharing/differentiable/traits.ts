// The differentiable methods and what sets each apart from DARTS, declared
// once per method: its mixing, α weighting, gradient, regularisers and
// defaults. BilevelSearch (search.ts) and the run read these traits, never a
// method's name; the registry (../methods.ts) adds each method's options,
// presets and summary.
import { DartsMixing, GdasMixing, type AlphaWeighting } from '../../spaces/supernet.js';
import { DIRICHLET_WEIGHTING } from './dirichlet.js';
import { ProxylessMixing, RandomSmoothing, SearchDartsMixing, SearchGdasMixing, SearchPcDartsMixing } from './mixing.js';

export const DIFFERENTIABLE_METHODS = ['darts', 'darts2', 'gdas', 'pcdarts', 'beta-darts', 'drnas', 'darts-minus', 'sdarts', 'proxyless'] as const;
export type DifferentiableMethod = (typeof DIFFERENTIABLE_METHODS)[number];

/** Where the reference codes differ from DARTS's: the defaults of a method. */
export interface ReferenceDefaults {
  /** 'arch-first' (DARTS's code) or 'weights-first'. */
  stepOrder: 'arch-first' | 'weights-first';
  nesterov: boolean;
  weightDecay: number;
  /** Momentum and weight decay keep moving weights that got no gradient this step (torch's zero_grad to zeros, not to None). */
  decayIdle: boolean;
  /**
   * 'epoch': α's batches walk the architecture half in shuffled order, the
   * last short batch dropped; 'random': each α batch is drawn with
   * replacement, and the weights' epoch keeps its last short batch.
   */
  archBatches: 'epoch' | 'random';
}

/** tsnas's DARTS: α first, plain momentum, weight decay 3e-4, both halves walked by epoch (every weight has a gradient anyway). */
const DARTS_REFERENCE: ReferenceDefaults = { stepOrder: 'arch-first', nesterov: false, weightDecay: 3e-4, decayIdle: false, archBatches: 'epoch' };

/** The search options a mixing is built from. */
export interface MixingOptions {
  tauMax?: number;
  gdasMode?: 'hard' | 'soft';
  gdasGradient?: 'all' | 'sampled';
  pcK?: number;
}

export interface MethodTraits {
  /**
   * The mixing of the candidates, on a cell search network (cell) or a space
   * supernet (default: DARTS's softmax). A space supernet's candidates may
   * read other labels' weights lazily, inside the candidate's own scope that
   * the cell networks' Search* mixings free at once, so those are cell-only.
   */
  mixing?: (o: MixingOptions, cell: boolean) => DartsMixing;
  /** Why the method runs on the cell search networks only (absent: it runs on space supernets too). */
  cellOnly?: string;
  /** How α becomes mixing weights (default softmax); a RandomSmoothing is SDARTS's, scheduled and attacked by the search. */
  weighting?: () => AlphaWeighting;
  /** The unrolled (second-order) architecture gradient. */
  secondOrder?: boolean;
  /** A forward pass draws its architecture, so a Hessian w.r.t. α would be of a different network each call. */
  sampled?: boolean;
  /** β-DARTS's β-continuity regulariser, its λ scheduled over the epochs. */
  betaContinuity?: boolean;
  /** DARTS−'s auxiliary skip connection, its weight decayed over the epochs. */
  auxiliarySkip?: boolean;
  /** Edge normalisation β by default (cell search networks). */
  edgeNormalization?: boolean;
  /** Epochs with α frozen by default, of the search's epochs (default 0). */
  archWarmupEpochs?: (epochs: number) => number;
  /** Default: DARTS's. */
  reference?: ReferenceDefaults;
}

const dartsMixing = (cell: boolean): DartsMixing => (cell ? new SearchDartsMixing() : new DartsMixing());

const TRAITS: Record<DifferentiableMethod, MethodTraits> = {
  darts: {},
  darts2: { secondOrder: true },
  gdas: {
    mixing: (o, cell) => {
      const gdas = { mode: o.gdasMode, gradient: o.gdasGradient };
      return cell ? new SearchGdasMixing(o.tauMax ?? 10, gdas) : new GdasMixing(o.tauMax ?? 10, gdas);
    },
    sampled: true,
    // GDAS's NB201 search script (XAutoDL) updates the weights first, with
    // Nesterov SGD at weight decay 5e-4, its zero_grad leaves zero gradients
    // that keep the candidates not sampled decaying, and it pairs every weight
    // batch with an α batch drawn with replacement.
    reference: { stepOrder: 'weights-first', nesterov: true, weightDecay: 5e-4, decayIdle: true, archBatches: 'random' },
  },
  pcdarts: {
    mixing: (o) => new SearchPcDartsMixing(o.pcK ?? 4),
    cellOnly: 'pcdarts mixes part of the channels',
    edgeNormalization: true,
    archWarmupEpochs: (epochs) => Math.min(15, Math.floor(epochs / 2)),
  },
  'beta-darts': { betaContinuity: true },
  drnas: { weighting: () => DIRICHLET_WEIGHTING, sampled: true },
  'darts-minus': { auxiliarySkip: true },
  sdarts: { weighting: () => new RandomSmoothing() },
  proxyless: { mixing: () => new ProxylessMixing(), sampled: true },
};

export function methodTraits(method: DifferentiableMethod): MethodTraits {
  return TRAITS[method];
}

/** The method's mixing: its own, else DARTS's softmax. */
export function methodMixing(method: DifferentiableMethod, o: MixingOptions, cell: boolean): DartsMixing {
  return TRAITS[method].mixing?.(o, cell) ?? dartsMixing(cell);
}

export function referenceDefaults(method: DifferentiableMethod): ReferenceDefaults {
  return TRAITS[method].reference ?? DARTS_REFERENCE;
}
