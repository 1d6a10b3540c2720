// tsnas bench step: times one training or search step of a workload.
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson, log } from '../output.js';
import { configureCompute } from '../../train/setup.js';
import { timeSteps, workload, WORKLOADS } from '../../bench/step.js';

export const benchStepCommand = defineCommand({
  name: 'bench step',
  summary: 'time one step of a workload (median after 2 warm-up steps)',
  flags: {
    workload: { type: 'string', help: `one of ${Object.keys(WORKLOADS).join(', ')}`, default: 'nb201' },
    steps: { type: 'int', help: 'timed steps', default: 10, min: 1 },
    batch: { type: 'int', help: 'batch size', default: 64, min: 1 },
    ...computeFlags,
  },
  async run({ flags }) {
    const make = workload(flags.workload as string);
    const threads = configureCompute({ threads: flags.threads as number | undefined, seed: flags.seed as number });
    const w = make({ batch: flags.batch as number });
    try {
      const { median, times } = timeSteps(w, flags.steps as number);
      const result = {
        workload: flags.workload,
        ms_per_step: median,
        threads,
        steps: times.length,
        ...w.info,
      };
      if (flags.json) emitJson(result);
      else log(`${flags.workload}: ${median.toFixed(1)} ms per step (median of ${times.length}, ${threads} threads)`);
      return 0;
    } finally {
      w.dispose();
    }
  },
});
