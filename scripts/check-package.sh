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
echo "check-package: ok" >&2
