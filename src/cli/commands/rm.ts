// tsnas rm NAME --yes [--storage URL]: deletes an experiment with its trials,
// epochs, checkpoint and saved state, and the files it owns in its files
// directory (experiment/files.ts); other files there stay.
import { usageError } from '../../errors.js';
import { ownedFiles, removeOwnedFiles } from '../../experiment/files.js';
import { requireExperiment } from '../../experiment/summary.js';
import { DEFAULT_STORAGE_URL, experimentFilesDir, openStore } from '../../store/index.js';
import { defineCommand } from '../command.js';
import { log } from '../output.js';

export const rmCommand = defineCommand({
  name: 'rm',
  summary: 'delete an experiment from a store (with --yes)',
  positional: { name: 'NAME', min: 1, max: 1 },
  flags: {
    storage: { type: 'string', help: 'sqlite:PATH or postgres://...', default: DEFAULT_STORAGE_URL },
    yes: { type: 'boolean', help: 'confirm the deletion (it cannot be undone)' },
  },
  async run({ flags, positional }) {
    const name = positional[0]!;
    // A store that does not exist is an error, not a new empty store.
    await (await openStore(flags.storage, { readOnly: true })).close();
    const store = await openStore(flags.storage);
    try {
      const experiment = await requireExperiment(store, name);
      const counts = await store.countTrials(experiment.id);
      const trials = Object.values(counts).reduce((a, b) => a + b, 0);
      const filesDir = experimentFilesDir(flags.storage, name);
      const files = await ownedFiles(store, experiment.id, filesDir);
      const withFiles = files.length > 0 ? ` and ${files.length} file(s) under ${filesDir}` : '';
      if (flags.yes !== true) throw usageError(`would delete experiment '${name}' (${experiment.status}, ${trials} trials) from ${flags.storage}${withFiles}; add --yes to delete it`, '--yes');
      await store.deleteExperiment(name);
      // After the records: a failed removal leaves files, never records that point at missing ones.
      removeOwnedFiles(files, filesDir);
      log(`rm: deleted experiment '${name}' (${trials} trials)${withFiles}`);
      for (const file of files) log(`rm: removed ${file}`);
      return 0;
    } finally {
      await store.close();
    }
  },
});
