// tsnas worker --storage postgres://... [--concurrency k] [--threads T] [--experiment NAME] [--once]:
// runs the trials that coordinators (tsnas search with execution.queue
// pgboss) put on the pg-boss queue of the store's database; start as many
// as you like, on any machine reaching the database (src/distributed).
import { runWorker } from '../../distributed/worker.js';
import { defineCommand } from '../command.js';
import { emitJson, log, stopOnSigint } from '../output.js';

export const workerCommand = defineCommand({
  name: 'worker',
  summary: 'run trials of pgboss-queued experiments (tsnas search with execution.queue pgboss) from a PostgreSQL store',
  flags: {
    storage: { type: 'string', help: 'postgres://... URL of the experiment store (the queue lives in the same database)', required: true },
    concurrency: { type: 'int', help: 'trials run at once', default: 1, min: 1 },
    threads: { type: 'int', help: 'libtorch threads in all, split between the concurrent trials (default: all cores)', min: 1 },
    experiment: { type: 'string', help: 'serve only this experiment (default: every running queued experiment)' },
    once: { type: 'boolean', help: 'exit when no experiment it serves is running any more (it first waits for one to run), instead of waiting for new ones' },
    id: { type: 'string', help: 'worker id written to the trials it runs, /SLOT appended (default HOST:PID)' },
    json: { type: 'boolean', help: 'print one JSON object on the last line of stdout' },
  },
  async run({ flags }) {
    const interrupt = stopOnSigint('worker: interrupted, stopping (running trials go back to pending and run elsewhere; Ctrl-C again to quit at once)');
    try {
      const result = await runWorker({
        storageUrl: flags.storage,
        concurrency: flags.concurrency,
        ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
        ...(flags.experiment !== undefined ? { experiment: flags.experiment } : {}),
        ...(flags.id !== undefined ? { workerId: flags.id } : {}),
        once: flags.once === true,
        signal: interrupt.signal,
        log,
      });
      log(`worker: ${result.finished} trial(s) finished${result.released.length ? `, ${result.released.length} put back to pending` : ''}`);
      if (flags.json) emitJson(result);
      return result.interrupted ? 130 : 0;
    } finally {
      interrupt.release();
    }
  },
});
