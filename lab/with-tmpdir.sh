#!/usr/bin/env bash
# Runs a command with TMPDIR (and so Node's os.tmpdir(), Go's os.TempDir(), mktemp) pointing at a
# fresh directory of its own, under the caller's TMPDIR (default /tmp):
#   - the command passes (exit 0): the directory is removed;
#   - it fails, or is interrupted: the directory is kept for inspection and its path is printed.
# The labs' working directories (etcd data, Pulumi state, vcsim and API-server logs, boot images)
# take 0.1 to 1.4 GB a run, and nothing else removes them: a machine that runs CI often filled
# its disk (ENOSPC mid-lab). Used by `npm test`, `npm run lab` and the boot lab (package.json).
#
#   bash lab/with-tmpdir.sh COMMAND [ARG ...]     # exit status is COMMAND's
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: with-tmpdir.sh COMMAND [ARG ...]" >&2; exit 2; }
parent=${TMPDIR:-/tmp}
dir=$(mktemp -d "$parent/vsphere-spark-run.XXXXXX") || exit 1
keep() { echo "with-tmpdir: kept $dir (the run did not pass; its files are there)" >&2; }
trap 'keep; exit 130' INT
trap 'keep; exit 143' TERM
TMPDIR=$dir "$@"
rc=$?
if [ "$rc" -eq 0 ]; then
  rm -rf "$dir"
else
  keep
fi
exit "$rc"
