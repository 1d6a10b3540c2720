// tsnas show NAME [--storage URL] [--json]: one experiment's counts by
// state, best trials, Pareto front and best architecture.
import { formatSummary, summarizeExperiment } from '../../experiment/summary.js';
import { DEFAULT_STORAGE_URL, openStore } from '../../store/index.js';
import { defineCommand } from '../command.js';
import { emitJson } from '../output.js';

export const showCommand = defineCommand({
  name: 'show',
  summary: 'show one experiment: counts by state, best trials, Pareto front, best architecture',
  positional: { name: 'NAME', min: 1, max: 1 },
  flags: {
    storage: { type: 'string', help: 'sqlite:PATH or postgres://...', default: DEFAULT_STORAGE_URL },
    top: { type: 'int', help: 'best trials to list', default: 5, min: 1 },
    json: { type: 'boolean', help: 'print one JSON object on the last line of stdout' },
  },
  async run({ flags, positional }) {
    const store = await openStore(flags.storage, { readOnly: true });
    try {
      const summary = await summarizeExperiment(store, positional[0]!, { top: flags.top });
      if (flags.json) emitJson(summary);
      else process.stdout.write(`${formatSummary(summary)}\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
});
