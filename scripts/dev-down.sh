#!/usr/bin/env bash
# Stops the SeaweedFS that dev-up.sh started. MariaDB is left running: it may
# serve other things on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=${TRASHD_DEV_DIR:-$PWD/.dev}
# Waits until it has exited and its ports are free, so that a dev-up right
# after (make demo, then make test) can bind them.
TRASHD_DEV_DIR=$dev scripts/stop-weed.sh
echo "dev-down: SeaweedFS stopped"
