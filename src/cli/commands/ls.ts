// tsnas ls [--storage URL]: the experiments of a store with their trial counts.
import { DEFAULT_STORAGE_URL, openStore } from '../../store/index.js';
import { objectivesOf } from '../../experiment/summary.js';
import { defineCommand } from '../command.js';
import { emitJson } from '../output.js';

export const lsCommand = defineCommand({
  name: 'ls',
  summary: 'list the experiments of a store',
  flags: {
    storage: { type: 'string', help: 'sqlite:PATH or postgres://...', default: DEFAULT_STORAGE_URL },
    json: { type: 'boolean', help: 'print one JSON object on the last line of stdout' },
  },
  async run({ flags }) {
    const store = await openStore(flags.storage, { readOnly: true });
    try {
      const rows = [];
      for (const e of await store.listExperiments()) {
        const counts = await store.countTrials(e.id);
        const primary = objectivesOf(e.config)[0]!;
        const [best] = await store.bestTrials(e.id, primary.name, primary.direction, 1);
        rows.push({ name: e.name, status: e.status, createdAt: new Date(e.createdAt).toISOString(), counts, objective: primary.name, best: best?.metrics?.[primary.name] ?? null });
      }
      if (flags.json) emitJson({ experiments: rows });
      else if (rows.length === 0) process.stdout.write(`no experiments in ${flags.storage}\n`);
      else {
        const width = Math.max(4, ...rows.map((r) => r.name.length));
        process.stdout.write(`${'name'.padEnd(width)}  ${'status'.padEnd(8)}  ${'trials'.padStart(6)}  ${'complete'.padStart(8)}  ${'best'.padStart(10)}  created\n`);
        for (const r of rows) {
          const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
          const best = r.best === null ? '-' : `${Number(r.best.toPrecision(5))}`;
          process.stdout.write(`${r.name.padEnd(width)}  ${r.status.padEnd(8)}  ${String(total).padStart(6)}  ${String(r.counts.complete).padStart(8)}  ${best.padStart(10)}  ${r.createdAt}\n`);
        }
      }
      return 0;
    } finally {
      await store.close();
    }
  },
});
