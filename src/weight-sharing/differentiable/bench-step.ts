// The `tsnas bench step --workload darts1|darts2` workloads: one DARTS
// search step (architecture step, first or second order, then weight step)
// on the DARTS space, C=8, 5 cells (reductions at 1/3 and 2/3), 4 nodes,
// 10 classes, one random batch of 3×32×32 used as both train and valid.
// bench/pytorch_darts_step.py is the PyTorch eager baseline of the same step.
import { randint, randn, tidy } from '../../tensor/index.js';
import { BilevelSearch } from './search.js';

export interface DartsStepWorkload {
  step(): void;
  info: Record<string, number | string>;
  dispose(): void;
}

export function dartsStepWorkload(order: 1 | 2, o: { batch: number }): DartsStepWorkload {
  const search = new BilevelSearch({ space: 'darts', C: 8, cells: 5, numClasses: 10, inChannels: 3 }, { method: order === 1 ? 'darts' : 'darts2', epochs: 50 });
  const x = randn([o.batch, 3, 32, 32]).keep();
  const y = randint(0, 10, [o.batch]).keep();
  const batch = { x, y };
  return {
    step: () => tidy(() => void search.step(batch, batch)),
    info: {
      params: search.net.numParameters(),
      batch: o.batch,
      space: 'darts',
      C: 8,
      cells: 5,
      order,
      alphas: search.alphas.length,
    },
    dispose: () => {
      search.dispose();
      x.dispose();
      y.dispose();
    },
  };
}
