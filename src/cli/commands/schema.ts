// tsnas schema [--out FILE]: the JSON Schema of experiment configs, for
// editors (`# yaml-language-server: $schema=./tsnas.schema.json`).
import { configJsonSchema } from '../../experiment/config.js';
import { checkOutputFile, writeFileAtomic } from '../../util/files.js';
import { defineCommand } from '../command.js';
import { log } from '../output.js';

export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'write the JSON Schema of experiment configs (stdout, or --out tsnas.schema.json) for editors to complete and check exp.yaml',
  flags: {
    out: { type: 'string', help: 'write it to this file instead of stdout' },
  },
  async run({ flags }) {
    const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
    if (flags.out === undefined) {
      process.stdout.write(text);
      return 0;
    }
    checkOutputFile(flags.out, '--out');
    writeFileAtomic(flags.out, text, '--out');
    log(`wrote ${flags.out}; name it in the first line of a config: # yaml-language-server: $schema=${flags.out}`);
    return 0;
  },
});
