// tsnas main (`npm start`): the main job on an embedded default. For now a
// short training of the default NAS-Bench-201 cell on Fashion-MNIST.
import { defineCommand } from '../command.js';
import { trainCommand } from './train.js';
import { BENCH_ARCH } from '../../bench/step.js';
import { computeFlags } from '../args.js';

export const mainCommand = defineCommand({
  name: 'main',
  summary: 'the main job (npm start): train the default cell on Fashion-MNIST and print its test accuracy',
  flags: { ...computeFlags },
  async run({ flags }) {
    const argv = [
      '--space', 'nb201', '--arch', BENCH_ARCH, '--dataset', 'fashion-mnist',
      '--channels', '8', '--cells', '1', '--epochs', '2', '--limit-train', '20000',
      '--seed', String(flags.seed),
      ...(flags.threads !== undefined ? ['--threads', String(flags.threads)] : []),
      ...(flags.json ? ['--json'] : []),
    ];
    return trainCommand.run(argv);
  },
});
