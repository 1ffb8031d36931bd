#!/usr/bin/env bash
# The main command: a 3-node Calico cluster in network namespaces, one
# bgplet per node with the default plugins programming each node's
# kernel, two pods per node pinging each other across nodes. Installs
# what it needs first (scripts/setup.sh), builds bgplet, runs
# `bgplet lab`, and removes the lab on exit or Ctrl-C.
#
# Arguments go to `bgplet lab`, e.g.:
#   ./scripts/lab.sh --nodes 5 --topology rr
#   ./scripts/lab.sh --bird-node 2        # one node is a real BIRD
#   ./scripts/lab.sh up                   # leave it running
#   ./scripts/lab.sh down                 # remove it
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "lab.sh: the lab creates network namespaces and needs root: sudo $0 $*" >&2
    exit 1
fi
./scripts/setup.sh
if [ -z "${BGPLET_BIN:-}" ]; then
    cargo build --release --locked -p bgplet
fi
BGPLET=${BGPLET_BIN:-${CARGO_TARGET_DIR:-target}/release/bgplet}
exec "$BGPLET" lab "$@"
