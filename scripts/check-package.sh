#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack`, installed into a fresh
# project (the addon builds at install), imported with types, and the CLI
# run through npx. Run by .ci/run after the test suite (it compiles the
# addon and better-sqlite3 again: minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm pack --silent --pack-destination "$tmp" >/dev/null
tgz=$(ls "$tmp"/tsnas-*.tgz)
echo "check-package: $(basename "$tgz"), $(du -h "$tgz" | cut -f1)" >&2
# Nothing that only tests, fixtures or benchmarks need.
if tar -tzf "$tgz" | grep -E '\.test\.|/testing/|^package/(test|bench|src)/'; then
  echo "check-package: the package holds test or benchmark files (above)" >&2
  exit 1
fi
mkdir "$tmp/app"
cd "$tmp/app"
npm init -y >/dev/null
npm pkg set type=module
ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --no-audit --no-fund "$tgz" typescript@5 @types/node@20 >&2
cat > use.ts <<'TS'
import { defineSpace, kits, memory, tidy, zeros, type DefinedSpace } from 'tsnas';
const sum: number = tidy(() => zeros([2, 3]).add(1).sum().item());
const space: DefinedSpace = defineSpace({ name: 'one', dimensions: [{ label: 'width', values: [8, 16] }] });
if (sum !== 6 || memory().numTensors !== 0 || !kits.kitNames().includes('nb201') || typeof space.sample !== 'function') {
  throw new Error(`unexpected: sum ${sum}, ${memory().numTensors} tensors, kits ${kits.kitNames().join(',')}`);
}
console.log('import ok');
TS
echo '{"compilerOptions":{"strict":true,"module":"nodenext","moduleResolution":"nodenext","target":"es2022","outDir":"out"}}' > tsconfig.json
npx tsc -p .
node out/use.js
npx tsnas --version
npx tsnas --help | head -n 1
npx tsnas space info --space nb201 | head -n 3
# tsnas fit on an image folder (three classes of 12x12 PPM images: stripes, dots, flat gray), then predict.
node -e '
const fs = require("node:fs");
const patterns = [(x, y) => (y % 2 ? 220 : 30), (x, y) => ((x + y) % 3 ? 20 : 240), () => 120];
patterns.forEach((f, k) => {
  const dir = `images/c${k}`;
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 16; i++) {
    const px = Buffer.alloc(12 * 12 * 3);
    for (let p = 0; p < 144; p++) px.fill(Math.max(0, Math.min(255, f(p % 12, Math.floor(p / 12)) + ((p * 7 + i * 13) % 41) - 20)), 3 * p, 3 * p + 3);
    fs.writeFileSync(`${dir}/${i}.ppm`, Buffer.concat([Buffer.from("P6\n12 12\n255\n"), px]));
  }
});'
start=$(date +%s)
npx tsnas fit folder:images --time-limit 60s --threads 1 --out model --quiet --json | tail -n 1
echo "check-package: tsnas fit with a 60 s limit took $(( $(date +%s) - start )) s" >&2
test -f model/best.onnx && test -f model/best.safetensors
npx tsnas predict --model model --threads 1 images/c0/0.ppm
echo "check-package: ok" >&2
