// tsnas main (`npm start`): the main job. Zero-cost screening of NAS-Bench-201
// cells on Fashion-MNIST, successive halving of the best, final training of
// the winner and a test-set evaluation; writes runs/NAME/report.html and the
// winner's weights (safetensors). Ctrl-C stops it cleanly (exit 130; the
// running trial goes back to pending); run it again to resume.
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson, log, stopOnSigint } from '../output.js';
import { MainJobInterrupted, runMainJob } from '../../experiment/main-job.js';
import { openStore } from '../../store/index.js';
import { configureCompute } from '../../train/setup.js';
import { parseProxyList } from '../../estimators/zero-cost/proxies.js';

export const mainCommand = defineCommand({
  name: 'main',
  summary: 'the main job (npm start): search Fashion-MNIST (proxies, successive halving, final training), report and weights',
  flags: {
    name: { type: 'string', help: 'experiment name (runs/NAME/ holds the report and weights)', default: 'main' },
    storage: { type: 'string', help: 'storage URL (default sqlite:runs/NAME/tsnas.db)' },
    'out-dir': { type: 'string', help: 'where the report and weights go (default runs/NAME)' },
    dataset: { type: 'string', help: 'fashion-mnist[:dir]', default: 'fashion-mnist' },
    candidates: { type: 'int', help: 'cells screened by zero-cost proxies', default: 1000, min: 1 },
    'proxy-batch': { type: 'int', help: 'images the proxies see', default: 16, min: 2 },
    proxies: { type: 'string', help: 'proxies whose summed ranks order the screened cells, comma-separated', default: 'synflow,nwot' },
    'screen-parallel': { type: 'int', help: 'cells scored at once in worker threads (default: the libtorch threads, at most 8)', min: 1 },
    'search-channels': { type: 'int', help: 'C of the search network', default: 8, min: 1 },
    'search-cells': { type: 'int', help: 'N of the search network', default: 1, min: 1 },
    resolution: { type: 'int', help: 'image size of the search phases (a multiple of 4)', default: 16, min: 4 },
    'halving-candidates': { type: 'int', help: 'best-ranked cells entering successive halving', default: 9, min: 1 },
    eta: { type: 'int', help: 'successive halving keeps 1/eta per rung and multiplies epochs by eta', default: 3, min: 2 },
    'halving-epochs': { type: 'int', help: 'epochs of the first rung', default: 1, min: 1 },
    'halving-train': { type: 'int', help: 'training images of the halving phase', default: 3000, min: 10 },
    'halving-valid': { type: 'int', help: 'held-out images that score the halving phase', default: 1000, min: 10 },
    'final-channels': { type: 'int', help: 'C of the final network', default: 16, min: 1 },
    'final-cells': { type: 'int', help: 'N of the final network', default: 1, min: 1 },
    'final-resolution': { type: 'int', help: 'image size of the final training (a multiple of 4; 28 is full size)', default: 16, min: 4 },
    'final-epochs': { type: 'int', help: 'epochs of the final training', default: 4, min: 1 },
    'final-limit-train': { type: 'int', help: 'use at most this many training images in the final training', min: 1 },
    'limit-test': { type: 'int', help: 'evaluate on at most this many test images', min: 1 },
    batch: { type: 'int', help: 'batch size', default: 128, min: 1 },
    lr: { type: 'number', help: 'initial learning rate (cosine-annealed)', default: 0.1 },
    quiet: { type: 'boolean', help: 'no progress bars' },
    ...computeFlags,
  },
  async run({ flags }) {
    const name = flags.name;
    const threads = configureCompute({ threads: flags.threads, seed: flags.seed });
    const outDir = flags['out-dir'] ?? `runs/${name}`;
    const storage = flags.storage ?? `sqlite:${outDir}/tsnas.db`;
    if (storage.startsWith('sqlite:')) {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(outDir, { recursive: true });
    }
    const store = await openStore(storage);
    log(`main: ${name} in ${storage}, ${threads} libtorch threads`);
    // Ctrl-C stops cleanly; resuming works as after kill -9.
    const interrupt = stopOnSigint('main: interrupted, stopping (the running trial goes back to pending; Ctrl-C again to quit at once)');
    try {
      const r = await runMainJob({
        signal: interrupt.signal,
        name,
        store,
        outDir,
        seed: flags.seed,
        dataset: flags.dataset,
        candidates: flags.candidates,
        proxyBatch: flags['proxy-batch'],
        proxies: parseProxyList(flags.proxies),
        screenParallel: Math.max(1, Math.min(flags['screen-parallel'] ?? threads, 8)),
        searchChannels: flags['search-channels'],
        searchCells: flags['search-cells'],
        resolution: flags.resolution,
        halvingCandidates: flags['halving-candidates'],
        eta: flags.eta,
        halvingEpochs: flags['halving-epochs'],
        halvingTrain: flags['halving-train'],
        halvingValid: flags['halving-valid'],
        finalChannels: flags['final-channels'],
        finalCells: flags['final-cells'],
        finalResolution: flags['final-resolution'],
        finalEpochs: flags['final-epochs'],
        finalLimitTrain: flags['final-limit-train'],
        limitTest: flags['limit-test'],
        batch: flags.batch,
        lr: flags.lr,
        threads: flags.threads,
        progress: !flags.quiet,
        log,
      });
      // Without a held-out share the final training always tests.
      const line = `main: test accuracy ${r.testAccuracy!.toFixed(4)} with ${r.arch} (${r.params} params), ${r.screened} cells screened, ${r.seconds.toFixed(0)} s; report ${r.report}, weights ${r.weights}`;
      if (flags.json) emitJson({ test_accuracy: r.testAccuracy, arch: r.arch, params: r.params, seconds: r.seconds, report: r.report, weights: r.weights, screened: r.screened, threads });
      else process.stdout.write(`${line}\n`);
      return 0;
    } catch (e) {
      if (!(e instanceof MainJobInterrupted)) throw e;
      log(`main: stopped in ${e.phase}; run the same command to resume`);
      return 130;
    } finally {
      interrupt.release();
      await store.close();
    }
  },
});
