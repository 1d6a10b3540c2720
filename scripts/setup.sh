#!/usr/bin/env bash
# One idempotent set-up for `npm start` and `npm test`:
#   1. the Debian packages tsnas needs (installed when root, else the command is printed),
#   2. `npm ci` when node_modules is missing or older than package-lock.json,
#   3. the native addon when its sources changed,
#   4. the TypeScript build when its sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch-dev: the compute library the addon links; dataset-fashion-mnist: the default data;
# g++/make/python3: node-gyp's toolchain; postgresql: the store's second backend (tests start it);
# chromium: renders reports to PNG (tsnas report --png).
PACKAGES=(libtorch-dev dataset-fashion-mnist g++ make python3 postgresql chromium)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q "${missing[@]}" >&2
  else
    echo "setup: missing Debian packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  # onnxruntime-node (tests verify ONNX exports with it) ships its CPU build; never fetch the CUDA one.
  ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund >&2
fi

# `npx tsnas` finds the CLI here (npm does not link the root package's own bin).
mkdir -p node_modules/.bin
[ -L node_modules/.bin/tsnas ] || ln -sf ../../bin/tsnas.js node_modules/.bin/tsnas

addon=build/Release/tsnas_native.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" 2>/dev/null | head -n 1)" ]; then
  echo "setup: building the native addon${LIBTORCH:+ against $LIBTORCH}" >&2
  npx --no-install node-gyp rebuild -j 2 >&2
fi

stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src tsconfig.json -newer "$stamp" 2>/dev/null | head -n 1)" ]; then
  echo "setup: compiling TypeScript" >&2
  npx --no-install tsc -p . >&2
  # Output of sources that were moved or deleted would still run as tests: drop it.
  find dist -name '*.js' | while read -r js; do
    rel=${js#dist/}
    [ -f "src/${rel%.js}.ts" ] || rm -f "$js" "${js%.js}.d.ts" "$js.map" "${js%.js}.d.ts.map"
  done
  touch "$stamp"
fi
