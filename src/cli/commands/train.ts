// tsnas train: trains one fixed network of a space on a dataset and reports
// its test accuracy.
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson, log } from '../output.js';
import { datasetSource, standardAugment } from '../../data/spec.js';
import { parseNb201Ops } from '../../spaces/nb201.js';
import { NB201Network } from '../../networks/nb201.js';
import { trainModel, evaluate } from '../../train/trainer.js';
import { configureCompute } from '../../train/setup.js';
import { checkNetworkInput } from '../../nn/module.js';

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train one architecture of a space and report its test accuracy',
  flags: {
    space: { type: 'string', help: 'search space', default: 'nb201', choices: ['nb201'] },
    arch: { type: 'string', help: 'the architecture, e.g. a NAS-Bench-201 string', required: true },
    dataset: { type: 'string', help: 'fashion-mnist | cifar10:<dir> | cifar100:<dir> | folder:<dir>', default: 'fashion-mnist' },
    channels: { type: 'int', help: 'channels of the first stage (C)', default: 16, min: 1 },
    cells: { type: 'int', help: 'cells per stage (N)', default: 5, min: 1 },
    epochs: { type: 'int', help: 'training epochs', default: 1, min: 0 },
    batch: { type: 'int', help: 'batch size', default: 64, min: 1 },
    lr: { type: 'number', help: 'initial learning rate (cosine-annealed)', default: 0.05 },
    'limit-train': { type: 'int', help: 'use at most this many training images', min: 1 },
    resolution: { type: 'int', help: 'resize images to this size (e.g. 16)', min: 4 },
    ...computeFlags,
  },
  async run({ flags }) {
    const threads = configureCompute({ threads: flags.threads, seed: flags.seed });
    const ops = parseNb201Ops(flags.arch, '--arch');
    const source = datasetSource(flags.dataset);
    const train = source.load('train');
    const test = source.load('test');
    log(`train: ${source.name}, ${train.n} training and ${test.n} test images (${train.channels}x${train.height}x${train.width}), ${threads} threads`);
    const augment = standardAugment(source, train, flags.resolution);
    const net = new NB201Network({
      ops,
      C: flags.channels,
      N: flags.cells,
      numClasses: train.numClasses,
      inChannels: train.channels,
    });
    try {
      const side = flags.resolution ?? train.height;
      checkNetworkInput(net, [train.channels, side, side], '--resolution');
      const result = trainModel(net, train, {
        epochs: flags.epochs,
        batchSize: flags.batch,
        lr: flags.lr,
        augment,
        limitTrain: flags['limit-train'],
        seed: flags.seed,
        progress: 'train',
      });
      const testResult = evaluate(net, test, { augment });
      const summary = {
        test_accuracy: testResult.accuracy,
        test_loss: testResult.loss,
        params: net.numParameters(),
        seconds: result.seconds,
        epochs: result.epochs,
        train_accuracy: result.history.at(-1)?.trainAccuracy ?? null,
        arch: flags.arch,
        dataset: source.name,
        threads,
        seed: flags.seed,
      };
      if (flags.json) emitJson(summary);
      else log(`test accuracy ${(100 * summary.test_accuracy).toFixed(2)}%, ${summary.params} parameters, ${summary.seconds.toFixed(1)} s`);
      return 0;
    } finally {
      net.dispose();
    }
  },
});
