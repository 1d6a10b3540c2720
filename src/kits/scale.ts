// EfficientNet's compound scaling over any space whose kit can scale a
// sample: a grid of depth, width and resolution multipliers (α, β, γ) with
// α·β²·γ² ≈ 2, so that each step φ roughly doubles the FLOPs (FLOPs grow
// with depth, width² and resolution²), then the family of a base network
// scaled by (α^φ, β^φ, γ^φ). Which of the grid's points is best is measured
// by the caller (EfficientNet trains the φ = 1 network of each).
import { TsnasError } from '../errors.js';
import type { Cost } from '../hardware/cost.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { costOf, costOptionsFor } from './build.js';
import { getKit, kitNames, type ScaleMultipliers, type ScaledSample, type SpaceKit } from './registry.js';

/** One network of a scaled family. */
export interface ScaledMember extends ScaledSample {
  phi: number;
  multipliers: ScaleMultipliers;
  /** The scaled space (kit.space(options)) and the sample's text in it. */
  space: DefinedSpace;
  arch: string;
  cost: Cost;
}

export interface GridOptions {
  /** Spacing of each multiplier's grid from 1 (default 0.05). */
  step?: number;
  /** Largest multiplier (default 2). */
  max?: number;
  /** The FLOPs factor of one step φ (default 2). */
  target?: number;
  /** Largest relative distance of α·β²·γ² from the target (default 0.05). */
  tolerance?: number;
}

/** α·β²·γ²: the FLOPs factor of one step φ. */
export const flopsFactor = (m: ScaleMultipliers) => m.depth * m.width ** 2 * m.resolution ** 2;

/** The grid points with α, β, γ ≥ 1 whose α·β²·γ² is within the tolerance of the target, nearest first. */
export function compoundGrid(o: GridOptions = {}): ScaleMultipliers[] {
  const step = o.step ?? 0.05;
  const max = o.max ?? 2;
  const target = o.target ?? 2;
  const tolerance = o.tolerance ?? 0.05;
  if (!(step > 0) || !(max >= 1) || !(target > 1) || !(tolerance >= 0)) {
    throw new TsnasError('usage', `compound grid: expected step > 0, max >= 1, target > 1, tolerance >= 0, found step ${step}, max ${max}, target ${target}, tolerance ${tolerance}`, { where: 'grid' });
  }
  const values: number[] = [];
  for (let k = 0; 1 + k * step <= max + 1e-9; k++) values.push(Number((1 + k * step).toFixed(6)));
  const out: ScaleMultipliers[] = [];
  for (const depth of values) for (const width of values) for (const resolution of values) {
    const m = { depth, width, resolution };
    if (Math.abs(flopsFactor(m) / target - 1) <= tolerance) out.push(m);
  }
  if (out.length === 0) throw new TsnasError('usage', `no grid point has α·β²·γ² within ${tolerance} of ${target} (step ${step}, max ${max}): widen the tolerance or refine the step`, { where: 'grid' });
  return out.sort((a, b) => Math.abs(flopsFactor(a) - target) - Math.abs(flopsFactor(b) - target));
}

/** k points of the grid spread over it (every (n/k)-th), so that a small training budget still sees its extremes and middle. */
export function spreadPoints<T>(points: readonly T[], k: number): T[] {
  if (k >= points.length) return [...points];
  return Array.from({ length: k }, (_, i) => points[Math.round((i * (points.length - 1)) / Math.max(1, k - 1))]!);
}

/** The multipliers of step φ: (α^φ, β^φ, γ^φ). */
export const multipliersAt = (m: ScaleMultipliers, phi: number): ScaleMultipliers => ({ depth: m.depth ** phi, width: m.width ** phi, resolution: m.resolution ** phi });

/** The scale function of a space's kit; a space whose kit has none is a usage error naming those that can scale. */
export function kitScale(name: string): NonNullable<SpaceKit['scale']> {
  const kit = getKit(name);
  if (!kit.scale) throw new TsnasError('usage', `space '${name}' cannot be scaled (spaces that can: ${kitNames((k) => k.scale).join(', ')})`, { where: '--space' });
  return kit.scale.bind(kit);
}

/** The sample scaled by the space's kit (see kitScale). */
export function scaleSample(space: DefinedSpace, s: Sample, m: ScaleMultipliers, inputSize: number): ScaledSample {
  const scale = kitScale(space.name);
  for (const [name, v] of Object.entries(m)) {
    if (!(Number.isFinite(v) && v >= 1)) throw new TsnasError('usage', `expected a ${name} multiplier >= 1, found ${v}`, { where: name });
  }
  space.validate(s);
  return scale(space, s, m, inputSize);
}

/** The family of a base sample for each φ, with each member's space, text form and cost (for images of `inChannels` channels and `numClasses` classes). */
export function scaledFamily(space: DefinedSpace, base: Sample, m: ScaleMultipliers, phis: readonly number[], o: { inputSize: number; inChannels: number; numClasses: number }): ScaledMember[] {
  const kit = getKit(space.name);
  return phis.map((phi) => {
    const multipliers = multipliersAt(m, phi);
    const scaled = scaleSample(space, base, multipliers, o.inputSize);
    const member = kit.space(scaled.options);
    const cost = costOf(member, scaled.sample, costOptionsFor({ numClasses: o.numClasses, inChannels: o.inChannels, inputSize: scaled.inputSize }));
    return { ...scaled, phi, multipliers, space: member, arch: member.format(scaled.sample), cost };
  });
}

// Helpers of the kits' scale functions: one rounding rule for all spaces.

/** A stage of n layers at depth multiplier d: n·d layers, rounded to the nearest (EfficientNet rounds up, which doubles one-layer stages at α = 1.2). */
export const scaledDepth = (n: number, d: number) => Math.max(1, Math.round(n * d));

/**
 * A width or an image side times m, to the nearest integer (at least 1).
 * EfficientNet rounds widths to multiples of 8, which at the small widths
 * of these spaces would swallow the multiplier.
 */
export const scaledSize = (v: number, m: number) => Math.max(1, Math.round(v * m));

/** A list of option values with the given ones added, sorted ascending. */
export const withValues = (list: readonly number[], added: readonly number[]) => [...new Set([...list, ...added])].sort((a, b) => a - b);
