#!/usr/bin/env bash
# Stops the SeaweedFS that dev-up.sh started. MariaDB is left running: it may
# serve other things on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=${TRASHD_DEV_DIR:-$PWD/.dev}
if [ -f "$dev/weed.pid" ]; then
	pid=$(cat "$dev/weed.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$dev/weed.pid"
	echo "dev-down: stopped SeaweedFS (pid $pid)"
fi
