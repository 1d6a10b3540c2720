// tsnas predict --model DIR IMAGE...: the top classes of each image by a
// model that tsnas fit wrote (its weights carry the classes and the input's
// size and normalisation).
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson } from '../output.js';
import { loadTrainedModel, predictImages } from '../../experiment/predict.js';
import { configureCompute } from '../../train/setup.js';

export const predictCommand = defineCommand({
  name: 'predict',
  summary: 'the top classes of image files (PNG, JPEG, PGM/PPM) by a model of tsnas fit',
  positional: { name: 'IMAGE', min: 1, max: 100_000 },
  flags: {
    model: { type: 'string', help: 'the directory tsnas fit wrote (--out), or its best.safetensors', required: true },
    top: { type: 'int', help: 'classes shown per image', default: 3, min: 1 },
    ...computeFlags,
  },
  async run({ flags, positional }) {
    configureCompute({ threads: flags.threads, seed: flags.seed });
    const model = loadTrainedModel(flags.model);
    try {
      const predictions = predictImages(model, positional, flags.top);
      if (flags.json) {
        emitJson(predictions);
      } else {
        for (const p of predictions) process.stdout.write(`${p.file}: ${p.top.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join(', ')}\n`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
});
