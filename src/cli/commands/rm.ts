// tsnas rm NAME --yes [--storage URL]: deletes an experiment with its trials,
// epochs, checkpoint and saved state (files written beside the store stay).
import { usageError } from '../../errors.js';
import { requireExperiment } from '../../experiment/summary.js';
import { DEFAULT_STORAGE_URL, openStore } from '../../store/index.js';
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
      if (flags.yes !== true) throw usageError(`would delete experiment '${name}' (${experiment.status}, ${trials} trials) from ${flags.storage}; add --yes to delete it`, '--yes');
      await store.deleteExperiment(name);
      log(`rm: deleted experiment '${name}' (${trials} trials)`);
      return 0;
    } finally {
      await store.close();
    }
  },
});
