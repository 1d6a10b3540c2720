// The space registry. A space is one kit: everything the rest of tsnas
// needs to know of it (its definition, options, fixed networks, supernet,
// cost model, latency edges, ONNX exporters and test settings), registered
// under its name with registerSpace. The built-in spaces (nb201.ts,
// darts.ts, ... in this folder) register through the same function a user
// calls; nothing outside a kit's own module asks for a space by its name.
//
// Import lookups from src/kits/index.ts: it registers the built-in kits first.
import { TsnasError } from '../errors.js';
import { withHyperparameters } from '../spaces/hyperparameters.js';
import { registerOnnxExporter, type OnnxExporterEntry } from '../export/onnx/export.js';
import type { Cost, CostOptions } from '../hardware/cost.js';
import type { LatencyEdges } from '../hardware/latency.js';
import type { BuildNetworkOptions } from '../networks/index.js';
import type { Morphism, MorphismKind } from '../networks/morphism.js';
import type { Module } from '../nn/module.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import type { MixingStrategy } from '../spaces/supernet.js';
import type { SpaceSupernet, SupernetOptions } from '../supernets/index.js';
import type { Rng } from '../util/random.js';

/** EfficientNet's depth (α), width (β) and resolution (γ) multipliers, each at least 1. */
export interface ScaleMultipliers {
  readonly depth: number;
  readonly width: number;
  readonly resolution: number;
}

/** A scaled sample: it belongs to `kit.space(options)` (the space's options widened to hold it), and its network reads images of side `inputSize`. */
export interface ScaledSample {
  readonly options: object;
  readonly sample: Sample;
  readonly inputSize: number;
}

/** A space's options by space name, as configs (`space.options`) and --space-options give them: `{chain: {maxDepth: 4}}`. */
export type SpaceOptions = Readonly<Record<string, object | undefined>>;

/** What a kit's supernet builder gets: the mixing is always given (single path unless asked otherwise). */
export type KitSupernetOptions = SupernetOptions & { mixing: MixingStrategy };

/**
 * One search space with everything tsnas does with it. Methods take the
 * space the kit's `space()` built (with the caller's options), so a kit
 * typed on its own space class (SpaceKit<ChainSpace>) reads its structure
 * without casts.
 */
export interface SpaceKit<S extends DefinedSpace = DefinedSpace> {
  /** The registered name: configs, --space and getKit take it; equals space().name. */
  readonly name: string;
  /** The keys of the space's options (a config's space.options, --space-options); `space()` checks their values. */
  readonly optionKeys: readonly string[];
  /** The space with these options (absent keys take their defaults); bad values throw a TsnasError naming the option. */
  space(options?: object): S;
  /**
   * Present when a network's width and number of cells come from the caller
   * (BuildNetworkOptions.channels and cells, the estimator's settings), not
   * from the sample: the values a multi-trial search's networks default to.
   */
  readonly sized?: { readonly channels: number; readonly cells: number };
  /** The image side a sample's network takes when the sample fixes it (mobilenet: its resolution); absent: the caller's inputSize. */
  inputSize?(space: S, s: Sample): number;
  /** The fixed network of a validated sample; its numParameters() equals cost(space, s, costOptionsFor(o)).params. */
  network(space: S, s: Sample, o: BuildNetworkOptions): Module;
  /** Parameters and FLOPs of a validated sample's network, without building it. */
  cost(space: S, s: Sample, o: CostOptions): Cost;
  /**
   * The function-preserving morphisms of a validated sample (deepen, widen,
   * add a skip, enlarge a kernel; src/networks/morphism.ts): each child sample
   * with how its network inherits the parent's weights. rng draws what is
   * random (which channels a widening copies). Absent: no morphism search.
   */
  morphisms?(space: S, s: Sample, rng: Rng): Morphism[];
  /** The weight-sharing supernet (SPOS, ENAS; DARTS-style mixing where it supports dense mixing); absent: no one-shot search. */
  supernet?(space: S, o: KitSupernetOptions): SpaceSupernet;
  /** Whether the supernet's extract(sample) gives the sample's fixed network with copies of its weights (one-shot --export). */
  readonly extracts?: boolean;
  /** The cheapest sample when the space knows it: resource limits are then checked exactly instead of by random draws. */
  cheapest?(space: S): Sample;
  /**
   * Compound scaling (EfficientNet): the sample's network with its depth,
   * width and input side multiplied (`inputSize`: the side the caller's
   * network takes when the sample does not fix it). Absent: the space cannot
   * be scaled (`tsnas scale` refuses it).
   */
  scale?(space: S, s: Sample, m: ScaleMultipliers, inputSize: number): ScaledSample;
  /** The cell edges a latency lookup table measures (cell spaces only). */
  readonly latency?: LatencyEdges;
  /** ONNX exporters of the module classes the kit's networks add to the shared layers (registered with the kit). */
  readonly onnx?: readonly OnnxExporterEntry[];
  /** Small settings that build a fixed network in milliseconds: what the tests of every kit use. */
  readonly testing: {
    readonly spaceOptions?: object;
    readonly network: BuildNetworkOptions;
    /** The morphism kinds the morphism test must meet among random samples of the test space. */
    readonly morphismKinds?: readonly MorphismKind[];
  };
}

export interface RegisterOptions {
  /**
   * URL of the module that registers the kit (e.g. import.meta.url): worker
   * threads (parallel trials) import it, so that the space is known there too.
   */
  module?: string | URL;
}

const KITS = new Map<string, SpaceKit>();
const MODULES = new Map<string, string>();

/**
 * Registers a space under kit.name, with the ONNX exporters of its modules.
 * Names are unique: another kit under a taken name is a usage error
 * (registering the same kit object again does nothing).
 */
export function registerSpace<S extends DefinedSpace>(kit: SpaceKit<S>, o: RegisterOptions = {}): void {
  const where = `registerSpace(${typeof kit?.name === 'string' ? kit.name : '?'})`;
  if (typeof kit !== 'object' || kit === null) throw new TsnasError('usage', 'expected a space kit object', { where });
  if (typeof kit.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(kit.name)) {
    throw new TsnasError('usage', `a kit's name must be 1 to 64 letters, digits, _ . -, got ${JSON.stringify(kit.name)}`, { where });
  }
  for (const field of ['space', 'network', 'cost'] as const) {
    if (typeof kit[field] !== 'function') throw new TsnasError('usage', `the kit needs a ${field}() function`, { where });
  }
  if (!Array.isArray(kit.optionKeys)) throw new TsnasError('usage', 'the kit needs optionKeys (an array; [] when the space has no options)', { where });
  if (typeof kit.testing?.network?.numClasses !== 'number') throw new TsnasError('usage', 'the kit needs testing.network (small network options with numClasses)', { where });
  const known = KITS.get(kit.name);
  if (known === (kit as unknown as SpaceKit)) return;
  if (known) throw new TsnasError('usage', `a space named '${kit.name}' is already registered`, { where });
  for (const { module, exporter } of kit.onnx ?? []) registerOnnxExporter(module, exporter);
  KITS.set(kit.name, kit as unknown as SpaceKit);
  if (o.module !== undefined) MODULES.set(kit.name, String(o.module));
}

/** The names of the registered spaces (those whose kit passes `filter`), in registration order: the built-in ones first. */
export function kitNames(filter: (kit: SpaceKit) => unknown = () => true): string[] {
  return [...KITS.values()].filter(filter).map((kit) => kit.name);
}

/** The kit of a registered space; an unknown name is a usage error listing the registered ones. */
export function getKit(name: string): SpaceKit {
  const kit = KITS.get(name);
  if (!kit) {
    throw new TsnasError('usage', `unknown space '${name}', expected one of ${kitNames().join(', ')} (a space of your own must be registered with registerSpace first)`, { where: 'space' });
  }
  return kit;
}

/** The kit of a space object (by its name). */
export function kitOf(space: DefinedSpace): SpaceKit {
  return getKit(space.name);
}

/**
 * A registered space with its options (options[name], as configs give them).
 * The option `hyperparameters`, which every space takes, adds training
 * hyperparameters as dimensions (src/spaces/hyperparameters.ts).
 */
export function getSpace(name: string, options: SpaceOptions = {}): DefinedSpace {
  const own = options[name] as Record<string, unknown> | undefined;
  if (own?.['hyperparameters'] === undefined) return getKit(name).space(own);
  const { hyperparameters, ...rest } = own;
  return withHyperparameters(getKit(name).space(Object.keys(rest).length > 0 ? rest : undefined), hyperparameters);
}

/**
 * The modules a worker thread imports to know the same spaces as this
 * thread: those the kits were registered from. When `name` is given, a kit
 * of that name registered without its module is a usage error (a worker
 * could not load it).
 */
export function kitModules(name?: string): string[] {
  if (name !== undefined && KITS.has(name) && !MODULES.has(name)) {
    throw new TsnasError('usage', `space '${name}' was registered without its module, so worker threads cannot load it: ` +
      'call registerSpace(kit, { module: import.meta.url }) in a module that workers can import', { where: 'space' });
  }
  return [...new Set(MODULES.values())];
}
