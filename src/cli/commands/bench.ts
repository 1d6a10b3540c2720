// tsnas bench step: times one training or search step of a workload.
// tsnas bench latency: measures a latency lookup table (src/hardware/latency.ts).
import { usageError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson, log } from '../output.js';
import { configureCompute } from '../../train/setup.js';
import { timeSteps, workload, WORKLOADS } from '../../workloads/step.js';
import {
  measureLatencyTable, measureLatencyTableOn, saveLatencyTable, validateLatencyTable, validateLatencyTableOn,
  type LatencyTable, type LatencyValidation, type MeasureLatencyOptions,
} from '../../hardware/latency.js';
import { DEFAULT_CHROMIUM } from '../../export/browser-runtime.js';
import { kitNames, latencyModel } from '../../kits/index.js';
import { checkOutputFile } from '../../util/files.js';
import { Rng } from '../../util/random.js';

export const benchStepCommand = defineCommand({
  name: 'bench step',
  summary: 'time one step of a workload (median after 2 warm-up steps)',
  flags: {
    workload: { type: 'string', help: `one of ${Object.keys(WORKLOADS).join(', ')}`, default: 'nb201' },
    steps: { type: 'int', help: 'timed steps', default: 10, min: 1 },
    batch: { type: 'int', help: 'batch size', default: 64, min: 1 },
    profile: { type: 'string', help: "write libtorch's op profile of the timed steps to this file (a Chrome trace for chrome://tracing or Perfetto; the timing then includes the profiler's cost)" },
    ...computeFlags,
  },
  async run({ flags }) {
    const make = workload(flags.workload);
    const profile = flags.profile;
    if (profile !== undefined) checkOutputFile(profile, '--profile');
    const threads = configureCompute({ threads: flags.threads, seed: flags.seed });
    const w = make({ batch: flags.batch });
    try {
      const { median, times, cpuMedian } = timeSteps(w, flags.steps, 2, profile);
      const result = {
        workload: flags.workload,
        ms_per_step: median,
        cpu_ms_per_step: cpuMedian,
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

/** tsnas bench latency: measures a latency lookup table of a space's edge operations (src/hardware/latency.ts). */
export const benchLatencyCommand = defineCommand({
  name: 'bench latency',
  summary: 'measure a latency lookup table of a space\'s edge operations on this runtime (for --cost latency:<file>)',
  flags: {
    space: { type: 'string', help: 'space whose edge operations are timed', default: 'nb201', choices: kitNames((k) => k.latency) },
    channels: { type: 'int', help: 'initial channels C of the network', default: 16, min: 1 },
    cells: { type: 'int', help: 'nb201: cells per stage N (default 5); darts: number of cells (default 8)', min: 1 },
    resolution: { type: 'int', help: 'input height = width', default: 32, min: 4 },
    batch: { type: 'int', help: 'images per call', default: 1, min: 1 },
    warmup: { type: 'int', help: 'untimed calls before each measurement', default: 5, min: 0 },
    repeats: { type: 'int', help: 'timed repeats (the median is kept)', default: 15, min: 1 },
    backward: { type: 'boolean', help: 'also time forward + backward' },
    clock: { type: 'string', help: 'wall: elapsed time; cpu: this process\'s CPU time, which leaves out other processes on a shared machine (one thread only)', default: 'wall', choices: ['wall', 'cpu'] },
    runtime: { type: 'string', help: 'libtorch: this process; browser: onnxruntime-web (wasm) in headless chromium, forward only, so that a search can target latency in a web page', default: 'libtorch', choices: ['libtorch', 'browser'] },
    browser: { type: 'string', help: `with --runtime browser: the chromium executable (default ${DEFAULT_CHROMIUM})` },
    out: { type: 'string', help: 'write the table (JSON) to this file', required: true },
    validate: { type: 'int', help: 'then compare predicted with measured end-to-end latency of this many sampled networks (Spearman, Kendall, mean relative error)', default: 0, min: 0 },
    ...computeFlags,
  },
  async run({ flags }) {
    const threads = configureCompute({ threads: flags.threads, seed: flags.seed });
    if (flags.clock === 'cpu' && threads > 1) throw usageError(`CPU time adds up the threads' time: use --threads 1 with it, got ${threads} threads`, '--clock');
    checkOutputFile(flags.out, '--out');
    const start = performance.now();
    const model = latencyModel(flags.space);
    const options: MeasureLatencyOptions = {
      channels: flags.channels,
      cells: flags.cells,
      resolution: flags.resolution,
      batch: flags.batch,
      warmup: flags.warmup,
      repeats: flags.repeats,
      backward: flags.backward === true,
      clock: flags.clock,
      onEntry: (e, done, total) => log(`${done}/${total} ${e.op} at ${e.channels}x${e.resolution}x${e.resolution}, stride ${e.stride}: ${e.forward_ms.toFixed(4)} ms` +
        (e.forward_backward_ms !== undefined ? ` (forward+backward ${e.forward_backward_ms.toFixed(4)} ms)` : '')),
    };
    const n = flags.validate;
    if (flags.browser !== undefined && flags.runtime !== 'browser') throw usageError('only the browser runtime uses it: add --runtime browser', '--browser');
    let table: LatencyTable;
    let validation: LatencyValidation | null = null;
    if (flags.runtime === 'browser') {
      const { openBrowserRuntime } = await import('../../export/browser-runtime.js');
      const runtime = await openBrowserRuntime(flags.browser === undefined ? {} : { chromium: flags.browser });
      try {
        log(`bench latency: timing in ${runtime.engine}`);
        table = await measureLatencyTableOn(runtime, model, options);
        saveLatencyTable(flags.out, table, '--out');
        if (n > 0) validation = await validateLatencyTableOn(runtime, model, table, n, new Rng(flags.seed));
      } finally {
        await runtime.close();
      }
    } else {
      table = measureLatencyTable(model, options);
      saveLatencyTable(flags.out, table, '--out');
      if (n > 0) validation = validateLatencyTable(model, table, n, new Rng(flags.seed));
    }
    if (validation) {
      log(`validation over ${validation.samples} sampled networks: Spearman ${validation.spearman.toFixed(3)}, Kendall ${validation.kendallTau.toFixed(3)}, ` +
        `mean relative error ${(100 * validation.meanRelativeError).toFixed(1)}%`);
    }
    const seconds = (performance.now() - start) / 1000;
    const summary = {
      out: flags.out,
      space: table.network.space,
      network: table.network,
      entries: table.entries.length,
      fixed_ms: table.fixed.forward_ms,
      ...(table.fixed.forward_backward_ms !== undefined ? { fixed_forward_backward_ms: table.fixed.forward_backward_ms } : {}),
      ...(validation ? { validation: { samples: validation.samples, spearman: validation.spearman, kendall_tau: validation.kendallTau, mean_relative_error: validation.meanRelativeError, cells: validation.cells } } : {}),
      threads: table.runtime.threads,
      runtime: table.runtime.engine,
      seconds,
    };
    if (flags.json) emitJson(summary);
    else log(`wrote ${table.entries.length} entries (fixed part ${table.fixed.forward_ms.toFixed(3)} ms) to ${flags.out} in ${seconds.toFixed(1)} s`);
    return 0;
  },
});
