// tsnas report NAME [--storage URL] [--out FILE] [--png]: writes the
// experiment's report.html (static inline SVG charts, nothing fetched).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { TsnasError, usageError } from '../../errors.js';
import { writeExperimentReport } from '../../experiment/report.js';
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
  positional: { name: 'NAME', min: 1, max: 1 },
  flags: {
    storage: { type: 'string', help: 'sqlite:PATH or postgres://...', default: DEFAULT_STORAGE_URL },
    out: { type: 'string', help: 'output file (default runs/NAME/report.html)' },
    png: { type: 'boolean', help: 'also write report.png via a headless Chromium (Debian chromium package)' },
  },
  async run({ flags, positional }) {
    const name = positional[0]!;
    const named = flags['out'] as string | undefined;
    const out = named ?? `runs/${name.replace(/[^A-Za-z0-9_.-]/g, '_')}/report.html`;
    if (named !== undefined) checkOutputFile(named, '--out');
    if (flags['png'] && !findChromium()) {
      throw new TsnasError('usage', 'needs a headless Chromium (apt install chromium), which is not installed; the HTML report has the same charts as SVG', { where: '--png' });
    }
    const store = await openStore(flags['storage'] as string, { readOnly: true });
    try {
      await writeExperimentReport(store, name, out, named === undefined ? { createDirectory: true } : { where: '--out' });
    } finally {
      await store.close();
    }
    log(`wrote ${out}`);
    if (flags['png']) {
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
