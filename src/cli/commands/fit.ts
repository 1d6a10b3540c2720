// tsnas fit DATASET --time-limit 20m: from a dataset (an image folder,
// fashion-mnist, cifar10:dir) to a model within a time limit, as a stored
// experiment (Ctrl-C, exit 130, or kill -9; the same command resumes).
// OUT receives the weights (safetensors, ONNX), the cell, report.html and
// the plan; `tsnas predict --model OUT image.png` uses them.
import { mkdirSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson, log, stopOnSigint } from '../output.js';
import { usageError } from '../../errors.js';
import { runFit } from '../../experiment/fit.js';
import { MainJobInterrupted } from '../../experiment/main-job.js';
import { openStore } from '../../store/index.js';
import { configureCompute } from '../../train/setup.js';
import { parseDuration } from '../../util/duration.js';

export const fitCommand = defineCommand({
  name: 'fit',
  summary: 'search and train an image classifier on a dataset within a time limit (folder:dir, fashion-mnist, cifar10:dir); writes the model for predict',
  positional: { name: 'DATASET', min: 1, max: 1 },
  flags: {
    'time-limit': { type: 'string', help: 'wall time of the whole run, e.g. 90s, 20m, 1h', required: true },
    'max-params': { type: 'int', help: 'the final network has at most this many parameters', min: 1 },
    'target-latency-ms': { type: 'number', help: 'the final network answers one image within this many ms (measured here)' },
    'skip-bad-images': { type: 'boolean', help: 'skip (and list) image files that cannot be decoded instead of stopping' },
    out: { type: 'string', help: 'where the model, report and plan go (default runs/NAME)' },
    name: { type: 'string', help: 'experiment name in the store', default: 'fit' },
    storage: { type: 'string', help: 'storage URL (default sqlite:OUT/tsnas.db)' },
    quiet: { type: 'boolean', help: 'no progress bars' },
    ...computeFlags,
  },
  async run({ flags, positional }) {
    const timeLimitSeconds = parseDuration(flags['time-limit'], '--time-limit');
    const maxParams = flags['max-params'];
    const targetLatencyMs = flags['target-latency-ms'];
    if (maxParams !== undefined && targetLatencyMs !== undefined) throw usageError('give --max-params or --target-latency-ms, not both', '--target-latency-ms');
    if (targetLatencyMs !== undefined && !(targetLatencyMs > 0)) throw usageError(`expected a latency above zero, found ${targetLatencyMs}`, '--target-latency-ms');
    const name = flags.name;
    const threads = configureCompute({ threads: flags.threads, seed: flags.seed });
    const outDir = flags.out ?? `runs/${name}`;
    const storage = flags.storage ?? `sqlite:${outDir}/tsnas.db`;
    mkdirSync(outDir, { recursive: true });
    const store = await openStore(storage);
    const interrupt = stopOnSigint('fit: interrupted, stopping (the running trial goes back to pending; Ctrl-C again to quit at once)');
    try {
      const r = await runFit({
        request: {
          dataset: positional[0]!, timeLimitSeconds, seed: flags.seed, skipBadImages: flags['skip-bad-images'] === true,
          ...(maxParams !== undefined ? { maxParams } : {}), ...(targetLatencyMs !== undefined ? { targetLatencyMs } : {}),
        },
        name, store, outDir, threads, progress: !flags.quiet, log, signal: interrupt.signal,
        // The limit counts from this process's start, as a user's clock does.
        startedAt: 0,
      });
      const accuracy = [
        ...(r.testAccuracy !== undefined ? [`test accuracy ${r.testAccuracy.toFixed(4)}`] : []),
        ...(r.validAccuracy !== undefined ? [`validation accuracy ${r.validAccuracy.toFixed(4)}`] : []),
      ].join(', ');
      if (flags.json) {
        emitJson({ test_accuracy: r.testAccuracy ?? null, valid_accuracy: r.validAccuracy ?? null, arch: r.arch, params: r.params, seconds: r.wallSeconds, model: outDir, report: r.report, screened: r.screened, classes: r.plan.classes });
      } else {
        process.stdout.write(`fit: ${accuracy} with ${r.arch} (${r.params} params), ${r.wallSeconds.toFixed(0)} s; model in ${outDir} (tsnas predict --model ${outDir} IMAGE...), report ${r.report}\n`);
      }
      return 0;
    } catch (e) {
      if (!(e instanceof MainJobInterrupted)) throw e;
      log(`fit: stopped in ${e.phase}; run the same command to resume`);
      return 130;
    } finally {
      interrupt.release();
      await store.close();
    }
  },
});
