// SPOS's evolutionary search (Guo et al. 2020) over a space's samples: a
// random population, then generations of mutants and crossovers of the
// best, each sample evaluated once.
import { TsnasError, configError } from '../../errors.js';
import type { Sample, SearchSpace } from '../../spaces/types.js';
import type { Rng } from '../../util/random.js';
import { betweenSteps } from '../checkpoint.js';

export interface EvolutionOptions {
  /** Evaluations in all (default 100). */
  budget?: number;
  population?: number;
  /** Parents are drawn from the best topK (default 10). */
  topK?: number;
  /** Share of children made by mutation; the rest by crossover (default 0.5). */
  mutationShare?: number;
  /** Only samples it accepts are evaluated (a resource constraint); the others are drawn again. */
  accept?: (s: Sample) => boolean;
  /** Names the constraint in the error when no drawn sample meets it. */
  constraintText?: string;
}

export interface Evaluated {
  sample: Sample;
  fitness: number;
}

/**
 * Runs the search; `evaluate` may be async. Before each evaluation it yields
 * to the event loop and stops (throwing signal.reason) when `signal` is aborted.
 */
export async function evolutionarySearch(
  space: SearchSpace,
  evaluate: (s: Sample) => number | Promise<number>,
  rng: Rng,
  o: EvolutionOptions = {},
  signal?: AbortSignal,
): Promise<{ best: Evaluated; evaluated: Evaluated[] }> {
  const budget = o.budget ?? 100;
  const population = Math.min(o.population ?? 20, budget);
  const topK = o.topK ?? 10;
  if (!(budget >= 1)) throw configError(`expected at least 1 evaluation, got ${budget}`, 'budget');
  const evaluated: Evaluated[] = [];
  const seen = new Set<string>();
  const tryAdd = async (s: Sample): Promise<boolean> => {
    const h = space.hash(s);
    if (seen.has(h)) return false;
    seen.add(h);
    if (o.accept && !o.accept(s)) return false;
    await betweenSteps(signal);
    evaluated.push({ sample: s, fitness: await evaluate(s) });
    return true;
  };
  for (let tries = 0; evaluated.length < population && tries < 100 * population; tries++) await tryAdd(space.sample(rng));
  if (evaluated.length === 0) {
    throw new TsnasError('usage', `no architecture of the ${space.name} space drawn in ${100 * population} tries meets ${o.constraintText ?? 'the constraint'}`, { where: 'constraint' });
  }
  while (evaluated.length < budget) {
    const parents = [...evaluated].sort((a, b) => b.fitness - a.fitness).slice(0, topK);
    const generation = Math.min(population, budget - evaluated.length);
    let added = 0;
    for (let tries = 0; added < generation && tries < 100 * generation; tries++) {
      const child = rng.next() < (o.mutationShare ?? 0.5) || parents.length < 2
        ? space.mutate(rng.choice(parents).sample, rng)
        : space.crossover(rng.choice(parents).sample, rng.choice(parents).sample, rng);
      if (await tryAdd(child)) added++;
    }
    if (added === 0) break; // the neighbourhood of the parents is exhausted
  }
  const best = evaluated.reduce((a, b) => (b.fitness > a.fitness ? b : a));
  return { best, evaluated };
}

