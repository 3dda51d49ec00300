#!/usr/bin/env bash
# Tests stop-weed.sh, the waiting dev-up and dev-down rely on, without
# SeaweedFS: stand-in processes hold ports that the kernel picks free on
# 127.0.0.1, in a dev directory of their own, so that the servers of this
# machine (and their ports) are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	rm -rf "$dev"
}
trap cleanup EXIT

fail() { echo "stop-weed-test: FAIL: $*" >&2; exit 1; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cat >"$dev/stand_in.py" <<'PY'
import signal, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
def term(*_):
    time.sleep(float(sys.argv[2]))
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN if sys.argv[2] == "ignore" else term)
while True:
    time.sleep(1)
PY

held() { [ -n "$(ss -Hltn "( sport = :$1 )")" ]; }

# stand_in PORT ON_TERM [ARGS…] starts a process that listens on PORT and,
# on SIGTERM, exits after ON_TERM seconds ("ignore": never); ARGS end up in
# its command line, as SeaweedFS's -dir does. It waits until it listens.
stand_in() {
	local port=$1 on_term=$2
	shift 2
	python3 "$dev/stand_in.py" "$port" "$on_term" "$@" &
	pids+=($!)
	disown "$!" # no "Killed" notice when cleanup kills it
	# However slow the machine: until it listens or has exited.
	local deadline=$((SECONDS + 120))
	while [ "$SECONDS" -lt "$deadline" ] && kill -0 "${pids[-1]}" 2>/dev/null; do
		held "$port" && return 0
		sleep 0.1
	done
	fail "the stand-in did not listen on $port"
}

stop() { TRASHD_DEV_DIR=$dev TRASHD_DEV_WEED_PORTS="$*" TRASHD_DEV_STOP_WAIT=${STOP_WAIT:-20} TRASHD_DEV_PORT_WAIT=${PORT_WAIT:-30} scripts/stop-weed.sh; }

# 1. Ours, slow to exit: stop-weed returns only once it is gone and its
#    ports are free, so that dev-up can bind them at once.
p1=$(free_port) p2=$(free_port)
stand_in "$p1" 1.5 "-dir=$dev/weed/data"
echo "${pids[-1]}" >"$dev/weed.pid"
start=$SECONDS
stop "$p1" "$p2" 2>"$dev/err" || fail "stopping our slow process: $(cat "$dev/err")"
held "$p1" && fail "port $p1 is still held after stop-weed returned"
kill -0 "${pids[-1]}" 2>/dev/null && fail "our process is still running"
[ -f "$dev/weed.pid" ] && fail "the pid file is left"
echo "ok 1: waited $((SECONDS - start))s for our process to exit and free its port"

# 2. Ours with the pid file lost (it is found by its data directory), and
#    one that ignores SIGTERM (killed after TRASHD_DEV_STOP_WAIT).
p1=$(free_port)
stand_in "$p1" ignore "-dir=$dev/weed/data"
STOP_WAIT=1 stop "$p1" 2>"$dev/err" || fail "stopping our stubborn process: $(cat "$dev/err")"
held "$p1" && fail "port $p1 is still held"
grep -q "did not exit within 1s of SIGTERM; killing it" "$dev/err" || fail "no word of the SIGKILL: $(cat "$dev/err")"
echo "ok 2: found our process without a pid file, and killed it when SIGTERM was ignored"

# 3. Not ours: left alone, named with its process, and stop-weed fails.
p1=$(free_port)
stand_in "$p1" 0 "--some-other-server"
other=${pids[-1]}
if PORT_WAIT=1 stop "$p1" 2>"$dev/err"; then fail "stop-weed succeeded with port $p1 held by another process"; fi
grep -q "port $p1 on 127.0.0.1 is held by pid $other ([^)]*python3 [^)]*stand_in.py $p1 0 --some-other-server)" "$dev/err" || fail "the holder is not named: $(cat "$dev/err")"
grep -q "not this checkout's SeaweedFS" "$dev/err" || fail "the message does not say it is not ours: $(cat "$dev/err")"
kill -0 "$other" 2>/dev/null || fail "stop-weed stopped a process that is not ours"
echo "ok 3: a foreign holder is named and left alone: $(grep -o 'held by pid [0-9]* ([^)]*)' "$dev/err" | head -c 120)"

# 4. A port freed while stop-weed waits (another checkout's dev-down in
#    progress): it waits, then succeeds. The holder exits only once
#    stop-weed has said whom it waits for, not after a fixed time, so that
#    a slow machine cannot let it go before stop-weed looked.
kill "$other"
p1=$(free_port)
stand_in "$p1" 0 "--exiting-soon"
other=${pids[-1]}
stop "$p1" 2>"$dev/err" &
stopper=$!
until grep -q "waiting for port $p1 " "$dev/err"; do
	kill -0 "$stopper" 2>/dev/null || break # it ended without waiting: its status says why
	sleep 0.05
done
kill "$other" 2>/dev/null || true
wait "$stopper" || fail "stop-weed gave up on a port that was freed: $(cat "$dev/err")"
grep -q "waiting for port $p1 to be free (held by pid $other" "$dev/err" || fail "it did not say what it waited for: $(cat "$dev/err")"
echo "ok 4: waited for a port being freed by another process"
echo "stop-weed-test: PASS"
