// tsnas init [FILE]: writes the commented example experiment config.
import { existsSync } from 'node:fs';
import { TsnasError } from '../../errors.js';
import { checkOutputFile, writeFileAtomic } from '../../util/files.js';
import { EXAMPLE_CONFIG } from '../../experiment/config.js';
import { defineCommand } from '../command.js';
import { log } from '../output.js';

export const initCommand = defineCommand({
  name: 'init',
  summary: 'write a commented example experiment config (default exp.yaml)',
  positional: { name: 'FILE', min: 0, max: 1 },
  flags: {
    force: { type: 'boolean', help: 'overwrite an existing file' },
  },
  async run({ flags, positional }) {
    const file = positional[0] ?? 'exp.yaml';
    checkOutputFile(file, file);
    if (existsSync(file) && !flags.force) throw new TsnasError('usage', 'exists; pass --force to overwrite it', { where: file });
    writeFileAtomic(file, EXAMPLE_CONFIG);
    log(`wrote ${file}; run it with: tsnas search --config ${file}`);
    return 0;
  },
});
