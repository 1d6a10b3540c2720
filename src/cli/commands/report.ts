// tsnas report NAME [--storage URL] [--out FILE] [--png]: writes the
// experiment's report.html (static inline SVG charts, nothing fetched);
// tsnas report --compare a,b,c: one page comparing several experiments.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { TsnasError, usageError } from '../../errors.js';
import { writeComparisonReport, writeExperimentReport } from '../../experiment/report.js';
import { DEFAULT_STORAGE_URL, openStore } from '../../store/index.js';
import { checkOutputFile } from '../../util/files.js';
import { defineCommand } from '../command.js';
import { log } from '../output.js';

/** A headless Chromium (Debian's chromium package), if installed. */
export function findChromium(): string | undefined {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
}

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'write an experiment report (report.html with SVG charts; --png needs chromium)',
  positional: { name: 'NAME', min: 0, max: 1 },
  flags: {
    storage: { type: 'string', help: 'sqlite:PATH or postgres://...', default: DEFAULT_STORAGE_URL },
    out: { type: 'string', help: 'output file (default runs/NAME/report.html)' },
    png: { type: 'boolean', help: 'also write report.png via a headless Chromium (Debian chromium package)' },
    figures: { type: 'boolean', help: 'also write each chart as an SVG file in figures/ next to the report' },
    compare: { type: 'string', help: 'experiments to compare on one page instead of NAME, comma-separated: best accuracy against search cost, then each one\'s charts' },
  },
  async run({ flags, positional }) {
    const compare = flags.compare?.split(',').map((n) => n.trim()).filter((n) => n !== '');
    if (compare !== undefined && positional.length > 0) throw usageError('give either NAME or --compare, not both', '--compare');
    if (compare !== undefined && compare.length < 2) throw usageError(`expected two or more experiment names separated by commas, got '${flags.compare}'`, '--compare');
    if (compare === undefined && positional.length === 0) throw usageError('expected one NAME (or --compare a,b,...)', 'NAME');
    const name = compare ? compare.join('-vs-') : positional[0]!;
    const named = flags.out;
    const out = named ?? `runs/${name.replace(/[^A-Za-z0-9_.-]/g, '_')}/report.html`;
    if (named !== undefined) checkOutputFile(named, '--out');
    if (flags.png && !findChromium()) {
      throw new TsnasError('usage', 'needs a headless Chromium (apt install chromium), which is not installed; the HTML report has the same charts as SVG', { where: '--png' });
    }
    const store = await openStore(flags.storage, { readOnly: true });
    try {
      const output = {
        ...(named === undefined ? { createDirectory: true } : { where: '--out' }),
        ...(flags.figures ? { figuresDir: join(dirname(out), 'figures') } : {}),
      };
      if (compare) await writeComparisonReport(store, compare, out, output);
      else await writeExperimentReport(store, name, out, output);
    } finally {
      await store.close();
    }
    log(`wrote ${out}`);
    if (flags.png) {
      const png = out.replace(/\.html?$/, '') + '.png';
      // A fresh profile and no background services: the page is local, and a
      // machine without network must not make Chromium wait on one.
      const profile = mkdtempSync(join(tmpdir(), 'tsnas-chromium-'));
      try {
        const r = spawnSync(findChromium()!, [
          '--headless', '--disable-gpu', '--no-sandbox', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
          `--screenshot=${resolve(png)}`, '--window-size=1280,3000', `file://${resolve(out)}`,
        ], { encoding: 'utf8', timeout: 120_000 });
        if (r.status !== 0) throw new TsnasError('internal', `chromium failed (${r.status}): ${r.stderr.slice(0, 300)}`, { where: '--png' });
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
      log(`wrote ${png}`);
    }
    return 0;
  },
});
