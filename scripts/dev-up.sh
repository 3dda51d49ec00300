#!/usr/bin/env bash
# Starts what tests, the demo and the benchmark need, on 127.0.0.1:
#   - MariaDB on :3306 (installed from Debian's packages and started if absent),
#   - SeaweedFS `weed mini` with its S3 API on :$TRASHD_DEV_S3_PORT (default 8333),
#     built once by build-weed.sh, started with a fresh data dir each time.
# and readies the two S3 servers that each test package starts for itself
# (s3ops/s3test): versitygw, built once by build-versitygw.sh, and moto,
# which must be installed for python3 (it is checked, and installed from
# Debian's packages where Debian has it).
# Writes the settings to $TRASHD_DEV_DIR/env (default .dev/env) for `source`.
# Safe to run again, in any order with make demo, test and bench (which runs it
# only when no dev servers answer): it stops the SeaweedFS it started last time
# first and waits for its ports (stop-weed.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=${TRASHD_DEV_DIR:-$PWD/.dev}
s3_port=${TRASHD_DEV_S3_PORT:-8333}
access_key=${TRASHD_DEV_ACCESS_KEY:-trashd-dev}
secret_key=${TRASHD_DEV_SECRET_KEY:-trashd-dev-secret}
mkdir -p "$dev"

log() { echo "dev-up: $*" >&2; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# --- MariaDB -----------------------------------------------------------------
mysql_ping() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }

if ! mysql_ping; then
	if [ ! -x /usr/sbin/mariadbd ]; then
		log "installing MariaDB from Debian's packages"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null
	fi
	log "starting MariaDB"
	as_root mkdir -p /run/mysqld
	as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
	as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
	for _ in $(seq 1 60); do mysql_ping && break; sleep 0.5; done
	mysql_ping || { log "MariaDB did not answer on 127.0.0.1:3306 within 30s"; exit 1; }
fi
# Root over TCP without a password is how this project's machines come; where
# the packaged server uses unix_socket auth for root, allow it over TCP too.
if ! mariadb --protocol=tcp -h127.0.0.1 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
	as_root mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
fi
mariadb --protocol=tcp -h127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test'

# --- SeaweedFS ---------------------------------------------------------------
weed=$(scripts/build-weed.sh)
# The tests start versitygw themselves; built here, before anything is
# started, so that a build that fails leaves nothing half up.
versitygw=$(scripts/build-versitygw.sh)

# Stop the SeaweedFS started last time and wait until it has exited and its
# S3, master, volume, filer and admin ports (and their gRPC ports) are free:
# a port still held would fail the new one, and another checkout's
# SeaweedFS would otherwise answer for this one. stop-weed.sh names whatever
# holds a port that is not ours.
TRASHD_DEV_DIR=$dev TRASHD_DEV_S3_PORT=$s3_port scripts/stop-weed.sh

rm -rf "$dev/weed"
mkdir -p "$dev/weed/data"
cat >"$dev/weed/s3.json" <<JSON
{"identities": [{"name": "trashd", "credentials": [{"accessKey": "$access_key", "secretKey": "$secret_key"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON

log "starting SeaweedFS (S3 on 127.0.0.1:$s3_port)"
setsid "$weed" mini -dir="$dev/weed/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
	-s3.port="$s3_port" -s3.config="$dev/weed/s3.json" -s3.autoCreateBucket=false \
	-webdav=false -s3.port.iceberg=0 \
	>"$dev/weed/weed.log" 2>&1 </dev/null &
echo $! >"$dev/weed.pid"

# A signed request that writes must succeed, not just an open port: SeaweedFS
# accepts connections before its filer and volume server can store anything.
probe="trashd-devup-probe"
s3curl() { curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access_key:$secret_key" "$@" 2>/dev/null; }
ok=
for _ in $(seq 1 240); do
	code=$(s3curl -X PUT "http://127.0.0.1:$s3_port/$probe") || true
	# 409 BucketAlreadyOwnedByYou: an earlier try created it.
	if [ "$code" = 200 ] || [ "$code" = 409 ]; then
		code=$(s3curl -X PUT -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --data-binary probe "http://127.0.0.1:$s3_port/$probe/probe") || true
		if [ "$code" = 200 ]; then
			ok=1
			break
		fi
	fi
	kill -0 "$(cat "$dev/weed.pid")" 2>/dev/null || break
	sleep 0.5
done
if [ -z "$ok" ]; then
	log "SeaweedFS did not accept a signed PUT within 120s; its log follows"
	tail -n 30 "$dev/weed/weed.log" >&2
	exit 1
fi
s3curl -X DELETE "http://127.0.0.1:$s3_port/$probe/probe" >/dev/null || true
s3curl -X DELETE "http://127.0.0.1:$s3_port/$probe" >/dev/null || true

# Every bucket takes volumes of its own, and SeaweedFS makes as many as the
# disk under $dev has room for: say so now if that is few, rather than let
# uploads fail with 500 in the middle of the tests (s3test checks again
# before each test process's first bucket).
weed_master=http://127.0.0.1:9333 # weed mini's master HTTP port
min_free=${TRASHD_TEST_WEED_MIN_FREE_VOLUMES:-8}
free=$(curl -sS "$weed_master/dir/status" 2>/dev/null |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["Topology"]["Free"])' 2>/dev/null || true)
if [ -z "$free" ]; then
	log "WARNING: SeaweedFS's master ($weed_master/dir/status) did not say how many volumes it has left"
elif [ "$free" -lt "$min_free" ]; then
	log "SeaweedFS has $free writable volumes left on a fresh start (the tests want $min_free): the disk under $dev has little room; free some space"
	exit 1
fi

# --- moto (the tests start it) -----------------------------------------------
# The version the tests check, declared once, in s3test.
moto_version=$(sed -n 's/^const MotoVersion = "\(.*\)"$/\1/p' s3ops/s3test/moto.go)
[ -n "$moto_version" ] || { log "no MotoVersion in s3ops/s3test/moto.go"; exit 1; }
# has_moto PYTHON: PYTHON runs moto's server at the version the tests expect.
has_moto() {
	[ "$("$1" -c 'import importlib.metadata as md, moto.server, flask, flask_cors; print(md.version("moto"))' 2>/dev/null)" = "$moto_version" ]
}
find_moto() {
	for py in "$(command -v python3 || true)" /usr/bin/python3; do
		if [ -n "$py" ] && has_moto "$py"; then
			# The interpreter itself, not a pyenv shim that picks one by
			# the directory it runs in.
			"$py" -c 'import sys; print(sys.executable)'
			return 0
		fi
	done
	return 1
}
if ! python=$(find_moto); then
	python=
	candidate=$(apt-cache policy python3-moto 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
		as_root apt-get update -qq
		candidate=$(apt-cache policy python3-moto 2>/dev/null | sed -n 's/^ *Candidate: //p')
	fi
	if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
		log "installing moto from Debian's packages (python3-moto $candidate)"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-moto python3-flask python3-flask-cors >/dev/null || true
		python=$(find_moto) || python=
	fi
fi
if [ -z "$python" ]; then
	# Not fatal: SeaweedFS and the demo need no moto; the tests on moto fail
	# and say the same.
	log "WARNING: moto $moto_version is not installed for python3, and Debian's packages have no python3-moto at that version:"
	log "WARNING: install it with pip install 'moto[server]==$moto_version'; until then every test on moto fails"
fi

cat >"$dev/env" <<ENV
export TRASHD_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/'
export TRASHD_TEST_S3_ENDPOINT='http://127.0.0.1:$s3_port'
export TRASHD_TEST_S3_ACCESS_KEY='$access_key'
export TRASHD_TEST_S3_SECRET_KEY='$secret_key'
export TRASHD_TEST_VERSITYGW='$versitygw'
export TRASHD_TEST_WEED_MASTER='$weed_master'
ENV
if [ -n "$python" ]; then
	echo "export TRASHD_TEST_PYTHON='$python'" >>"$dev/env"
fi
log "ready: MariaDB on 127.0.0.1:3306, S3 on http://127.0.0.1:$s3_port, versitygw built${python:+, moto in $python} (settings in $dev/env)"
