#!/usr/bin/env bash
# Stops the SeaweedFS that dev-up.sh started for this checkout and waits
# until it has exited and its ports are free, so that the next dev-up can
# bind them at once (make demo and make test each run dev-up, and make bench
# when no dev servers answer, in any order). A port held by anything else is named, with its process, and
# the script fails.
#
# Ours is the process in $TRASHD_DEV_DIR/weed.pid, and any process started
# with this checkout's data directory (-dir=$TRASHD_DEV_DIR/weed/data) whose
# pid file was lost.
#
# Settings (for dev-up, dev-down and tests):
#   TRASHD_DEV_DIR         default .dev
#   TRASHD_DEV_S3_PORT     default 8333
#   TRASHD_DEV_WEED_PORTS  the ports to wait for; default: the S3 port, the
#                          master (9333), volume (9340), filer (8888) and admin
#                          (12535, 23646) ports and each one's gRPC port (+10000)
#   TRASHD_DEV_STOP_WAIT   seconds for a process to exit after SIGTERM (then SIGKILL); default 20
#   TRASHD_DEV_PORT_WAIT   seconds for the ports to be free; default 30
set -euo pipefail
cd "$(dirname "$0")/.."

dev=${TRASHD_DEV_DIR:-$PWD/.dev}
s3_port=${TRASHD_DEV_S3_PORT:-8333}
stop_wait=${TRASHD_DEV_STOP_WAIT:-20}
port_wait=${TRASHD_DEV_PORT_WAIT:-30}
if [ -n "${TRASHD_DEV_WEED_PORTS:-}" ]; then
	read -r -a ports <<<"$TRASHD_DEV_WEED_PORTS"
else
	ports=()
	for p in "$s3_port" 9333 9340 8888 12535 23646; do ports+=("$p" $((p + 10000))); done
fi
marker="-dir=$dev/weed/data"

log() { echo "stop-weed: $*" >&2; }

# alive: the process exists and is not a zombie (a zombie holds no port, and
# an init that does not reap would keep it forever).
alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# cmdline is a process's command line on one line, cut short.
cmdline() { tr '\0\n\t' '   ' <"/proc/$1/cmdline" 2>/dev/null | tr -s ' ' | sed 's/ $//' | cut -c1-200; }

# ours lists the pids of this checkout's SeaweedFS.
ours() {
	local pid
	if [ -f "$dev/weed.pid" ]; then
		pid=$(cat "$dev/weed.pid")
		if [ -n "$pid" ] && alive "$pid"; then echo "$pid"; fi
	fi
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		if [ "$pid" != "$$" ] && grep -qzxF -- "$marker" "$d/cmdline" 2>/dev/null && alive "$pid"; then
			echo "$pid"
		fi
	done | sort -u
}

# wait_exit waits up to $2 seconds for pid $1 to exit.
wait_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while alive "$pid"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# listening: something listens on TCP port $1 (any address).
listening() {
	if command -v ss >/dev/null; then
		[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# holder names the process listening on port $1: from ss, else by the
# socket's inode in /proc (processes of other users stay unnamed).
holder() {
	local port=$1 pid="" inode hex
	if command -v ss >/dev/null; then
		pid=$(ss -Hltnp "( sport = :$port )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)
	fi
	if [ -z "$pid" ]; then
		hex=$(printf '%04X' "$port")
		inode=$(awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" {print $10; exit}' /proc/net/tcp /proc/net/tcp6 2>/dev/null || true)
		if [ -n "$inode" ]; then
			for fd in /proc/[0-9]*/fd/*; do
				if [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ]; then
					pid=${fd#/proc/}
					pid=${pid%%/*}
					break
				fi
			done
		fi
	fi
	if [ -n "$pid" ] && alive "$pid"; then
		echo "pid $pid ($(cmdline "$pid"))"
	else
		echo "a process this user cannot see (try: sudo ss -ltnp 'sport = :$port')"
		return 1
	fi
}

for pid in $(ours); do
	log "stopping the SeaweedFS of this checkout (pid $pid)"
	kill "$pid" 2>/dev/null || true
	if ! wait_exit "$pid" "$stop_wait"; then
		log "SeaweedFS (pid $pid) did not exit within ${stop_wait}s of SIGTERM; killing it"
		kill -9 "$pid" 2>/dev/null || true
		wait_exit "$pid" 10 || { log "pid $pid did not exit even after SIGKILL"; exit 1; }
	fi
done
rm -f "$dev/weed.pid"

# A process that has exited has closed its listening sockets, but one that
# is still exiting (another checkout's dev-down, say) may hold them briefly.
# The holder is looked up after the port was seen held, and may exit in
# between (that is what is being waited for): a holder that cannot be named
# is only reported if the port is still held after the look-up, else the
# port is free and the wait is over.
deadline=$((SECONDS + port_wait))
for port in "${ports[@]}"; do
	said=
	while listening "$port"; do
		if ! who=$(holder "$port") && ! listening "$port"; then
			break
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "port $port on 127.0.0.1 is held by $who, which is not this checkout's SeaweedFS ($dev):" \
				"stop it (scripts/dev-down.sh in its checkout, if it is another checkout's), or run with another TRASHD_DEV_S3_PORT if it is the S3 port"
			exit 1
		fi
		if [ -z "$said" ]; then
			log "waiting for port $port to be free (held by $who)"
			said=1
		fi
		sleep 0.2
	done
done
