#!/usr/bin/env node
// npm's install step for tsnas as a package: builds the native addon
// against libtorch, or says which package and command are missing. In a
// development checkout scripts/setup.sh builds it instead.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (existsSync(`${root}src`)) process.exit(0);

const libtorch = process.env.LIBTORCH;
const headers = libtorch ? `${libtorch}/include/torch/script.h` : '/usr/include/torch/script.h';
if (!existsSync(headers)) {
  console.error(libtorch
    ? `tsnas: LIBTORCH=${libtorch} has no include/torch/script.h: point LIBTORCH at an unpacked libtorch, then run \`npm rebuild tsnas\``
    : 'tsnas: libtorch is missing (no /usr/include/torch/script.h). On Debian or Ubuntu: `sudo apt-get install libtorch-dev g++ make python3`, ' +
      'or set LIBTORCH=/path/to/libtorch; then run `npm rebuild tsnas`');
  process.exit(1);
}
console.error(`tsnas: building the native addon${libtorch ? ` against ${libtorch}` : ''} (a few minutes)`);
const r = spawnSync('node-gyp', ['rebuild', '-j', 'max'], { cwd: root, stdio: 'inherit', shell: false });
if (r.error) {
  console.error(`tsnas: could not run node-gyp (${r.error.message}); install it (npm install -g node-gyp), then run \`npm rebuild tsnas\``);
  process.exit(1);
}
process.exit(r.status ?? 1);
