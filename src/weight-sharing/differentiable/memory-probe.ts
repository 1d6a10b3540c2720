// Peak memory of one search step, measured as the growth of the process's
// resident-set high-water mark (getrusage maxRSS) over the step. Autograd's
// saved activations live inside libtorch, where no tensor count sees them,
// so this is measured in a fresh process:
//   node dist/weight-sharing/differentiable/memory-probe.js '{"method":"pcdarts","space":"nb201","C":16,"cells":1,"batch":16,"resolution":16}'
// prints {"method":..., "peakStepBytes":...}.
import { fileURLToPath } from 'node:url';
import { manualSeed, randint, randn } from '../../tensor/index.js';
import { BilevelSearch } from './search.js';
import type { DifferentiableMethod } from './traits.js';
import type { SupernetSpace } from '../../supernets/genotype.js';

export interface MemoryProbeConfig {
  method: DifferentiableMethod;
  space: SupernetSpace;
  C: number;
  cells: number;
  batch: number;
  resolution: number;
  numClasses?: number;
}

/** Bytes the process's peak RSS grows by during one search step (call in a fresh process). */
export function measureStepPeak(c: MemoryProbeConfig): number {
  manualSeed(0);
  const search = new BilevelSearch({ space: c.space, C: c.C, cells: c.cells, numClasses: c.numClasses ?? 10 }, { method: c.method, epochs: 1 });
  const batch = () => ({ x: randn([c.batch, 3, c.resolution, c.resolution]).keep(), y: randint(0, c.numClasses ?? 10, [c.batch]).keep() });
  const train = batch();
  const valid = batch();
  const before = process.resourceUsage().maxRSS * 1024;
  search.step(train, valid);
  const after = process.resourceUsage().maxRSS * 1024;
  search.dispose();
  for (const b of [train, valid]) {
    b.x.dispose();
    b.y.dispose();
  }
  return after - before;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = JSON.parse(process.argv[2] ?? '{}') as MemoryProbeConfig;
  process.stdout.write(`${JSON.stringify({ ...config, peakStepBytes: measureStepPeak(config) })}\n`);
}
