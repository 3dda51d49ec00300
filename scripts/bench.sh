#!/usr/bin/env bash
# Benchmark: how fast and how cheaply trashd moves objects into a trash bucket,
# next to `rclone move` (server-side copy, same checks left on) and the
# server's raw CopyObject rate, on the local dev servers; then the same with a
# fixed delay on every S3 request, a slower delay at equal concurrency against
# the limit that delay sets, three trashd processes against one, and
# discovery at scale. It prints figures, not a verdict, and writes them all to
# .dev/bench/result.json.
#
#   BENCH_N=2000 BENCH_SIZE=16KiB BENCH_LATENCY=15ms scripts/bench.sh
#
#   BENCH_N            objects per set (default 2000)
#   BENCH_SIZE         size of each object (default 16KiB)
#   BENCH_CONCURRENCY  objects at once for every tool (default: trashd's own
#                      TRASHD_CONCURRENCY, as `trashd config` reports it)
#   BENCH_LATENCY      the delay added to each S3 request in the latency runs
#                      (default 15ms; a Go duration, or milliseconds)
#   BENCH_SLOW         0 skips the slow scenario (and so the multi run)
#   BENCH_SLOW_LATENCY the delay of the slow scenario (default 50ms)
#   BENCH_SLOW_N       objects per set of the slow scenario (default 1000)
#   BENCH_SLOW_CONCURRENCY  the concurrencies it runs at, each for trashd and
#                      rclone alike (default "8 16"); the first is also that
#                      of each of the three processes of the multi run
#   BENCH_DISCOVERY    0 skips the discovery benchmark (scripts/benchdisco)
#   BENCH_INVENTORY    0 skips the inventory benchmark (scripts/benchinv)
#   BENCH_INVENTORY_ROWS  rows in its report (default 1000000)
#   BENCH_KEEP         1 keeps the bench-* buckets afterwards (default: removed, also when the bench fails)
#   BENCH_SEED         the seed of keys, sizes and bytes (default 1)
#
# Five identical sets of N objects are seeded (same keys, sizes and bytes):
#   a  bench-a-src -> bench-a-trash  one `trashd reconcile` pass (database trashd_bench)
#   b  bench-b-src -> bench-b-trash  `rclone move` on one remote, so it copies server-side
#   c  bench-c-src -> bench-c-dst    scripts/copyrate: one CopyObject each, nothing else
#   d  bench-d-src -> bench-d-trash  one trashd pass, every S3 request delayed (trashd_bench_lat)
#   e  bench-e-src -> bench-e-trash  rclone move, delayed
# and, for the slow scenario, identical sets of BENCH_SLOW_N objects, two for
# each concurrency C of BENCH_SLOW_CONCURRENCY and one more:
#   g<C>  bench-g<C>-src -> bench-g<C>-trash  one trashd pass at concurrency C (trashd_bench_slow<C>)
#   h<C>  bench-h<C>-src -> bench-h<C>-trash  rclone move, --transfers C --checkers C
#   f     bench-f-src -> bench-f-trash        three trashd passes at once on one backlog of
#                                             3 x BENCH_SLOW_N objects (as much per process as
#                                             the one-process run), each at the first C
#                                             (trashd_bench_multi)
# Every tool talks S3 through scripts/s3proxy, which counts the requests per
# operation: with no delay for a, b and c, with BENCH_LATENCY for d and e, with
# BENCH_SLOW_LATENCY for the slow sets.
# Each run is timed on the wall clock and in CPU seconds (user + system, of the
# process and its children), and so are the S3 server, MariaDB and the proxy
# over the same interval, read from /proc, with the whole machine's CPU use
# from /proc/stat. trashd connects to MariaDB as a user of its own,
# trashd_bench, and the bench turns userstat on while it runs (and back off),
# so that USER_STATISTICS gives trashd's statements and CPU apart from other
# clients'; beside them, MariaDB's global Questions counter over the run, less
# the bench's own reads of it.
#
# A client that keeps C objects in flight, each paying R requests one after
# another, each delayed by D, moves at most C / (R x D) objects per second:
# the slow scenario reports that limit and the share of it each run reached.
# R, "requests in series per object", is what the proxy counted per object,
# less the requests that serve many objects at once or none (DeleteObjects,
# listings, bucket-level operations), rounded to 0.01.
#
# result.json (every figure is a number unless said otherwise; per object
# means per object of the run's set: N, or BENCH_SLOW_N in the slow scenario):
#   meta.{n, size, concurrency, latency, latency_ms, cores, load_before, trashd_version, date}
#   local.<tool>.*, latency.<tool>.*, slow.c<C>.<tool>.*   tool: trashd, rclone (and copyrate in local)
#     objects, seconds, obj_per_s, exit, left_in_source, in_destination
#     cpu_s, cpu_ms_per_obj                   the tool itself
#     s3_server_cpu_ms_per_obj, db_server_cpu_ms_per_obj, proxy_cpu_ms_per_obj
#     machine_cpu_pct                         all cores busy over the run, in % of all of them
#     s3_requests, s3_requests_per_obj        as the proxy saw them
#     s3_requests_by_op.<Operation>           HeadObject, CopyObject, DeleteObject, DeleteObjects, ...
#     s3_requests_per_obj_by_op.<Operation>
#     s3_serial_requests_per_obj              requests in series per object (R above)
#     s3_errors_by_op.<Operation>             answers of status 400 or more (a count)
#     db_statements, db_statements_per_obj   trashd's user's statements (null without userstat)
#     db_user_cpu_ms_per_obj                  MariaDB's CPU on them (null without userstat)
#     db_questions, db_questions_per_obj     global Questions: every client's (for rclone and
#                                             copyrate, other clients' background alone)
#     reported                                (trashd) request or statement counts trashd itself
#                                             printed, an object; {} when it prints none
#   slow.c<C>.<tool>.* and slow.multi.three.* also have:
#     concurrency, processes, delay_ms        C, 1 (3 in slow.multi.three), the delay
#     limit_obj_per_s                         processes x C / (s3_serial_requests_per_obj x delay)
#     limit_share                             obj_per_s / limit_obj_per_s
#     machine_bound                           true when machine_cpu_pct >= 90: the machine's
#                                             CPU, not the delay, bounds the run
#   slow.{skipped, latency, latency_ms, n, concurrency}  concurrency: the list, an array
#   slow.c<C>.trashd_vs_rclone                obj/s
#   slow.multi.concurrency                    each process's C (the first of the list)
#   slow.multi.one_obj_per_s, .one_cpu_pct     one process: the slow.c<C>.trashd run itself
#   slow.multi.three_obj_per_s, .three_cpu_pct three processes on set f (all its objects / wall)
#   slow.multi.ratio                           three / one
#   slow.multi.three.*                         set f's run, with the figures of slow.c<C>.<tool>
#   slow.multi.three_moved_each                objects each process moved (an array)
#   multi.*                                    the same as slow.multi (its former name; it ran at
#                                              BENCH_LATENCY before the slow scenario existed)
#   local.mariadb.cpu_ms_per_obj, local.seaweedfs.cpu_ms_per_obj   the processes, over trashd's local run
#   local.mariadb.trashd_user_cpu_ms_per_obj   the same run, trashd's statements alone
#   discovery.built                            false when scripts/benchdisco is absent
#   discovery.skipped                          true with BENCH_DISCOVERY=0
#   discovery.exit                             its exit status
#   discovery.<its keys>                       its JSON object as it printed it
#   inventory.built, .skipped, .exit           as for discovery, for scripts/benchinv
#   inventory.rows                             rows in the generated report
#   inventory.<format>.*                       format: parquet, csv (gzip); reading a report
#                                              (Latest, then Rows: MD5 checked, every row streamed)
#     rows_read, seconds, rows_per_s, peak_rss_mb   in a process of its own (VmHWM)
#     write_seconds, files, bytes                   writing it (inventory.Write), for scale
#   inventory.goals.{max_seconds, max_rss_mb}  for 10^6 rows: 60 and 200
#   inventory.confirm                          scripts/benchconfirm: records, rows, streams,
#                                              seconds, records_per_s, rows_per_s (streaming),
#                                              peak_rss_mb, load/check/record_seconds,
#                                              confirmed, heads (with the report), head_sweep
#                                              (without: one per record); null if not run
#   ratios.trashd_vs_rclone_local              obj/s, goal at least 1.5
#   ratios.trashd_vs_rclone_latency            obj/s with the delay, goal at least 1.5
#   ratios.cpu_trashd_vs_rclone                CPU ms/obj, local, goal at most 0.5
#   ratios.cpu_with_servers_trashd_vs_rclone   the same with the servers' and proxy's CPU added
#   ratios.trashd_vs_copyrate_local            obj/s
#   ratios.slow_c<C>_trashd_vs_rclone          obj/s at BENCH_SLOW_LATENCY; goal at C = 16: at least 2.5
#   ratios.slow_c<C>_trashd_limit_share        = slow.c<C>.trashd.limit_share; goal at C = 8: at least 0.8
#   ratios.multi_three_vs_one                  = slow.multi.ratio, goal at least 2.7
#   ratios.trashd_serial_requests_per_obj      the most of trashd's runs (local, latency, slow),
#                                              goal at most 1.1 (single-part objects)
#   ratios.trashd_db_statements_per_obj        the same for db_statements_per_obj, goal at most 0.2
#   ratios.trashd_db_cpu_ms_per_obj            and for db_user_cpu_ms_per_obj, goal at most 0.12
#   goals.<ratio name>.{min|max}               the goals above
#
# `make bench` runs it after build; run directly, it builds what it runs. It
# uses the dev servers that answer: those of TRASHD_DEV_DIR, else this
# checkout's .dev, else (in a git worktree) the main checkout's; only when
# none answers does it start them with scripts/dev-up.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_N:-2000}
SIZE=${BENCH_SIZE:-16KiB}
SEED=${BENCH_SEED:-1}
LATENCY=${BENCH_LATENCY:-15ms}
case $LATENCY in *[0-9]) LATENCY=${LATENCY}ms ;; esac # bare numbers are milliseconds
SLOW=${BENCH_SLOW:-1}
SLOW_LATENCY=${BENCH_SLOW_LATENCY:-50ms}
case $SLOW_LATENCY in *[0-9]) SLOW_LATENCY=${SLOW_LATENCY}ms ;; esac
SLOW_N=${BENCH_SLOW_N:-1000}
read -r -a slow_cs <<<"${BENCH_SLOW_CONCURRENCY:-8 16}"
for c in "${slow_cs[@]}"; do
	if ! [[ $c =~ ^[1-9][0-9]*$ ]]; then
		echo "bench: BENCH_SLOW_CONCURRENCY=\"${BENCH_SLOW_CONCURRENCY:-}\": want whole numbers above 0, such as \"8 16\"" >&2
		exit 2
	fi
done
if [ "$SLOW" != 0 ] && [ "${#slow_cs[@]}" = 0 ]; then
	echo "bench: BENCH_SLOW_CONCURRENCY is empty: name at least one concurrency, or set BENCH_SLOW=0" >&2
	exit 2
fi
# Each concurrency has sets of its own, named after it.
if [ "${#slow_cs[@]}" != 0 ] && [ "$(printf '%s\n' "${slow_cs[@]}" | sort -u | wc -l)" != "${#slow_cs[@]}" ]; then
	echo "bench: BENCH_SLOW_CONCURRENCY=\"$BENCH_SLOW_CONCURRENCY\" names a concurrency twice" >&2
	exit 2
fi
if ! [[ $SLOW_N =~ ^[1-9][0-9]*$ ]]; then
	echo "bench: BENCH_SLOW_N=\"$SLOW_N\": want a whole number of objects above 0" >&2
	exit 2
fi
DISCOVERY=${BENCH_DISCOVERY:-1}
INVENTORY=${BENCH_INVENTORY:-1}
INVENTORY_ROWS=${BENCH_INVENTORY_ROWS:-1000000}
out=$PWD/.dev/bench
bindir=$PWD/.dev/bin
database=trashd_bench

say() { echo "bench: $*"; }
# ms_of DURATION: a Go duration (15ms, 1.5s, 800us) in milliseconds.
ms_of() {
	awk -v d="$1" 'BEGIN {
		v = d + 0; u = d; sub(/^[0-9.]+/, "", u)
		if (u == "s") v *= 1000; else if (u == "us" || u == "µs") v /= 1000; else if (u == "ns") v /= 1e6
		print v }'
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- tools ---------------------------------------------------------------------
# Debian's aws CLI and rclone, called by full path: a pip-installed aws earlier
# on PATH may be another major version.
if [ ! -x /usr/bin/aws ] || [ ! -x /usr/bin/rclone ] || ! command -v jq >/dev/null || ! command -v curl >/dev/null; then
	say "installing awscli, rclone, jq and curl from Debian's packages"
	apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli rclone jq curl >/dev/null; }
	apt_install 2>/dev/null || { as_root apt-get update -qq && apt_install; }
fi

# --- servers -------------------------------------------------------------------
# find_dev prints the directory whose env names the dev servers to use.
find_dev() {
	if [ -n "${TRASHD_DEV_DIR:-}" ]; then
		echo "$TRASHD_DEV_DIR"
		return
	fi
	local common
	common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
	if [ ! -f "$PWD/.dev/env" ] && [ -n "$common" ] && [ -f "$(dirname "$common")/.dev/env" ]; then
		# A worktree shares the servers of the main checkout.
		echo "$(dirname "$common")/.dev"
		return
	fi
	echo "$PWD/.dev"
}
dev=$(find_dev)
s3_answers() {
	[ -f "$dev/env" ] || return 1
	# shellcheck disable=SC1091
	(source "$dev/env" && curl -sf -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$TRASHD_TEST_S3_ACCESS_KEY:$TRASHD_TEST_S3_SECRET_KEY" "$TRASHD_TEST_S3_ENDPOINT/")
}
mysql_answers() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }
if ! s3_answers || ! mysql_answers; then
	dev=${TRASHD_DEV_DIR:-$PWD/.dev}
	TRASHD_DEV_DIR=$dev scripts/dev-up.sh
fi
# shellcheck disable=SC1091
source "$dev/env"
endpoint=$TRASHD_TEST_S3_ENDPOINT
say "servers: S3 at $endpoint, MariaDB at 127.0.0.1:3306 (settings in $dev/env)"

say "building trashd, seed, copyrate and s3proxy"
rm -rf "$out"
mkdir -p "$bindir" "$out/runs"
make --no-print-directory -s build # the Makefile stamps the version
go build -o "$bindir/seed" ./scripts/seed
go build -o "$bindir/copyrate" ./scripts/copyrate
go build -o "$bindir/s3proxy" ./scripts/s3proxy
disco=absent
if [ "$DISCOVERY" = 0 ]; then
	disco=skipped
elif [ -f scripts/benchdisco/main.go ]; then
	if go build -o "$bindir/benchdisco" ./scripts/benchdisco 2>"$out/benchdisco-build.log"; then
		disco=built
	else
		disco=broken
		say "scripts/benchdisco does not build (see ${out#"$PWD"/}/benchdisco-build.log)" >&2
	fi
fi

inv=absent
if [ "$INVENTORY" = 0 ]; then
	inv=skipped
elif [ -f scripts/benchinv/main.go ]; then
	if go build -o "$bindir/benchinv" ./scripts/benchinv 2>"$out/benchinv-build.log"; then
		inv=built
	else
		inv=broken
		say "scripts/benchinv does not build (see ${out#"$PWD"/}/benchinv-build.log)" >&2
	fi
fi

export AWS_ACCESS_KEY_ID=$TRASHD_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TRASHD_TEST_S3_SECRET_KEY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
s3api() { /usr/bin/aws --endpoint-url "$endpoint" s3api "$@"; }
# Counts Contents over every page: SeaweedFS leaves KeyCount out, and with
# --output text the CLI would apply the query to each page on its own.
# shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
count_objects() { s3api list-objects-v2 --bucket "$1" --query 'length(Contents || `[]`)' --output json; }
sql() { mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -N -B "$@"; }

# --- trashd's configuration ------------------------------------------------------
# trashd connects as a user of its own, so that MariaDB's per-user statistics
# tell its statements and CPU from those of every other client.
db_user=trashd_bench db_password=trashd-bench
export TRASHD_MYSQL_HOST=127.0.0.1 TRASHD_MYSQL_PORT=3306 TRASHD_MYSQL_USER=$db_user TRASHD_MYSQL_PASSWORD=$db_password
export TRASHD_MYSQL_DATABASE=$database TRASHD_MYSQL_TLS=false
export TRASHD_LMS_TABLE=files_a TRASHD_LMS_ID_COLUMN=id TRASHD_LMS_KEY_COLUMN=s3_key
export TRASHD_LMS_TRASH_COLUMN=trashed TRASHD_LMS_TRASH_KIND=flag
export TRASHD_S3_ENDPOINT=$endpoint TRASHD_S3_REGION=us-east-1 TRASHD_S3_PATH_STYLE=true TRASHD_S3_CHECKSUMS=when_required
export TRASHD_SOURCE_BUCKET=bench-a-src TRASHD_TRASH_BUCKET=bench-a-trash
export TRASHD_MULTIPART_THRESHOLD=8MiB TRASHD_PART_SIZE=5MiB TRASHD_LOG_LEVEL=info
# Every row of the benchmark's tables is trashed at once, on purpose: let the
# passes through the mass-change brake.
export TRASHD_ALLOW_MASS_CHANGE=true
if [ -n "${BENCH_CONCURRENCY:-}" ]; then
	export TRASHD_CONCURRENCY=$BENCH_CONCURRENCY
fi
# Without BENCH_CONCURRENCY every tool runs at trashd's own concurrency (its
# default, or TRASHD_CONCURRENCY from the environment).
C=$(bin/trashd config --json 2>/dev/null | jq -r '.variables[] | select(.name == "TRASHD_CONCURRENCY") | .value' || true)
if ! [[ $C =~ ^[0-9]+$ ]]; then
	say "trashd config did not report TRASHD_CONCURRENCY; \`bin/trashd config\` says:" >&2
	bin/trashd config >&2 || true
	exit 1
fi
pool_given=${TRASHD_MYSQL_MAX_OPEN_CONNS:-}
if [ "$C" -ge 20 ] && [ -z "$pool_given" ]; then
	export TRASHD_MYSQL_MAX_OPEN_CONNS=$((C + 4)) # the pool must stay above the workers
fi
# trashd_at C: the settings, one a line, of a trashd process moving C objects
# at once (for `env`): its concurrency, and a pool that stays above it.
trashd_at() {
	echo "TRASHD_CONCURRENCY=$1"
	if [ -z "$pool_given" ] && [ "$1" -ge 20 ]; then echo "TRASHD_MYSQL_MAX_OPEN_CONNS=$(($1 + 4))"; fi
}
declare -A proxy_url proxy_pid # by proxy name: local, latency, slow
# use_set SET DATABASE PROXY: points trashd at one set, through one proxy.
use_set() {
	export TRASHD_MYSQL_DATABASE=$2 TRASHD_LMS_TABLE=files_$1
	export TRASHD_SOURCE_BUCKET=bench-$1-src TRASHD_TRASH_BUCKET=bench-$1-trash
	export TRASHD_S3_ENDPOINT=${proxy_url[$3]:-$endpoint}
}

# --- identical sets ------------------------------------------------------------
sets="a b c d e"
slow_sets=
if [ "$SLOW" != 0 ]; then
	for c in "${slow_cs[@]}"; do slow_sets+="g$c h$c "; done
	slow_sets+=f
fi
sets+=" $slow_sets"
db_of() {
	case $1 in
	d) echo "${database}_lat" ;;
	f) echo "${database}_multi" ;;
	g*) echo "${database}_slow${1#g}" ;;
	*) echo "$database" ;;
	esac
}
# trashd_sets: the sets trashd moves, each with a database of its own, as
# trashd keeps its state per database.
trashd_sets() { for s in $sets; do case $s in a | d | f | g*) echo "$s" ;; esac; done; }
# Set f holds three times BENCH_SLOW_N: each of the multi run's three
# processes has as much to move as the one process of the run it is set
# against (and as much start-up to pay for it).
n_of() {
	case " $slow_sets " in
	*" $1 "*) if [ "$1" = f ]; then echo $((3 * SLOW_N)); else echo "$SLOW_N"; fi ;;
	*) echo "$N" ;;
	esac
}
dest_of() { if [ "$1" = c ]; then echo "bench-c-dst"; else echo "bench-$1-trash"; fi; }
remove_buckets() {
	local s b
	for s in $sets; do
		for b in "bench-$s-src" "$(dest_of "$s")"; do
			if s3api head-bucket --bucket "$b" >/dev/null 2>&1; then
				/usr/bin/aws --endpoint-url "$endpoint" s3 rb "s3://$b" --force >/dev/null
			fi
		done
	done
}
# A bench that fails or is interrupted removes its buckets too: each bucket
# takes SeaweedFS volumes, and the dev server has few (BENCH_KEEP=1 keeps
# them, to look at).
remove_leftovers() { if [ "${BENCH_KEEP:-0}" != 1 ]; then remove_buckets || true; fi; }
trap remove_leftovers EXIT
say "seeding 5 identical sets of $N objects of $SIZE"
if [ -n "$slow_sets" ]; then
	say "  and $(echo "$slow_sets" | wc -w) of $SLOW_N for the slow scenario ($slow_sets)"
fi
for s in $(trashd_sets); do
	d=$(db_of "$s")
	sql -e "DROP DATABASE IF EXISTS \`$d\`; CREATE DATABASE \`$d\` CHARACTER SET utf8mb4"
done
sql -e "CREATE USER IF NOT EXISTS '$db_user'@'127.0.0.1'; ALTER USER '$db_user'@'127.0.0.1' IDENTIFIED BY '$db_password';
	GRANT ALL ON \`${database//_/\\_}%\`.* TO '$db_user'@'127.0.0.1'"
remove_buckets
for s in $sets; do
	"$bindir/seed" -mysql-dsn "$TRASHD_TEST_MYSQL_DSN" -database "$(db_of "$s")" -table "files_$s" -bucket "bench-$s-src" -reset \
		-n "$(n_of "$s")" -size "$SIZE" -trash-fraction 1 -seed "$SEED" -concurrency "$C" >>"$out/seed.log"
done
listing() { s3api list-objects-v2 --bucket "$1" --query 'Contents[].[Key, Size, ETag]' --output json | md5sum; }
# same_sets SET...: whether the sets list the same keys, sizes and ETags.
same_sets() {
	local first s
	first=$(listing "bench-$1-src")
	for s in "${@:2}"; do
		[ "$first" = "$(listing "bench-$s-src")" ] || return 1
	done
}
for group in "a b c d e" "${slow_sets% f}"; do
	[ -n "$group" ] || continue
	# shellcheck disable=SC2086 # a list of set names
	if same_sets $group; then
		say "sets $group list the same keys, sizes and ETags"
	else
		say "sets $group differ: the comparisons below are not like for like" >&2
	fi
done
# SeaweedFS allocates a bucket's volumes on its first write, which stalls that
# write for most of a second: write once to each destination before timing.
head -c 16384 /dev/zero >"$out/warmup"
for s in $sets; do
	b=$(dest_of "$s")
	s3api create-bucket --bucket "$b" >/dev/null
	s3api put-object --bucket "$b" --key warmup --body "$out/warmup" >/dev/null
	s3api delete-object --bucket "$b" --key warmup >/dev/null
done
for s in $(trashd_sets); do
	use_set "$s" "$(db_of "$s")" none
	bin/trashd migrate >>"$out/trashd-migrate.log" 2>&1
done

# --- proxies ---------------------------------------------------------------------
# start_proxy NAME DELAY: an s3proxy in front of the S3 server.
start_proxy() {
	local file=$out/proxy-$1.url
	"$bindir/s3proxy" -target "$endpoint" -delay "$2" -addr-file "$file" >"$out/proxy-$1.out" 2>"$out/proxy-$1.log" &
	proxy_pid[$1]=$!
	for _ in $(seq 1200); do # until it listens or exits, at most two minutes on a busy machine
		[ -s "$file" ] && break
		kill -0 "${proxy_pid[$1]}" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$file" ]; then
		say "s3proxy $1 did not start:" >&2
		cat "$out/proxy-$1.log" >&2
		exit 1
	fi
	proxy_url[$1]=$(cat "$file")
}
stop_proxies() {
	local name
	for name in "${!proxy_pid[@]}"; do
		kill -TERM "${proxy_pid[$name]}" 2>/dev/null || true
		wait "${proxy_pid[$name]}" 2>/dev/null || true
	done
	proxy_pid=()
}
# MariaDB counts statements and CPU per user only while userstat is on: turn
# it on for the runs, and back to what it was when the bench ends.
userstat_was=$(sql -e 'SELECT @@global.userstat' 2>/dev/null || true)
cleanup() {
	stop_proxies
	if [ "$userstat_was" = 0 ]; then sql -e 'SET GLOBAL userstat = 0' || true; fi
	remove_leftovers
}
trap cleanup EXIT
if [ -n "$userstat_was" ] && ! sql -e 'SET GLOBAL userstat = 1' 2>"$out/userstat.log"; then
	userstat_was=
fi
if [ -z "$userstat_was" ]; then
	say "MariaDB keeps no per-user statistics here: DB statements are its global Questions only" >&2
fi
start_proxy local 0s
start_proxy latency "$LATENCY"
say "proxies: ${proxy_url[local]} (no delay), ${proxy_url[latency]} (+$LATENCY per request)"
if [ -n "$slow_sets" ]; then
	start_proxy slow "$SLOW_LATENCY"
	say "  and ${proxy_url[slow]} (+$SLOW_LATENCY per request)"
fi

# --- measuring -----------------------------------------------------------------------
ticks=$(getconf CLK_TCK)
# The S3 server's process: dev-up's pid file, else whatever listens on its port.
weed_pid=$(cat "$dev/weed.pid" 2>/dev/null || true)
if [ -z "$weed_pid" ] || ! kill -0 "$weed_pid" 2>/dev/null; then
	weed_pid=$(ss -Hltnp "sport = :${endpoint##*:}" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
fi
mysql_pid=$(pidof mariadbd || pidof mysqld || true)
# cpu_of PID: user + system seconds of a process (its threads and waited-for children).
cpu_of() {
	if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then
		# Fields after the ")" that ends the command name: utime is the 12th.
		sed 's/.*) //' "/proc/$1/stat" | awk -v t="$ticks" '{ printf "%.2f", ($12 + $13 + $14 + $15) / t }'
	else
		echo 0
	fi
}
# machine_ticks: "busy total" jiffies of all cores since boot (idle and iowait are not busy).
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
# db_counters: "questions statements cpu_seconds": MariaDB's global Questions
# (every client's statements), and the statements and CPU of trashd's user
# (USER_STATISTICS, while userstat is on; 0 before the user's first statement).
db_counters() {
	sql -e "SELECT (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'QUESTIONS'),
		(SELECT COALESCE(SUM(SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS), 0) FROM information_schema.USER_STATISTICS WHERE USER = '$db_user'),
		(SELECT COALESCE(SUM(CPU_TIME), 0) FROM information_schema.USER_STATISTICS WHERE USER = '$db_user')"
}
# Each read counts itself in Questions (and whatever the client sends on
# connecting): measure how much, on back-to-back reads, so that a run's count
# leaves it out. The least of five pairs, as other clients may add to a pair.
own_questions=1000000
for _ in 1 2 3 4 5; do
	read -r q0 _ _ < <(db_counters)
	read -r q1 _ _ < <(db_counters)
	if [ $((q1 - q0)) -lt "$own_questions" ]; then own_questions=$((q1 - q0)); fi
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
set_n=$N # objects in the sets of the runs that follow
# measure ID PROXY LOG COMMAND...: runs COMMAND with its output in LOG, its S3
# requests going through proxy PROXY, and writes the figures to runs/ID.json.
# Requests in series per object leave out those that serve many objects at
# once (DeleteObjects, listings) or none (bucket-level operations, and those
# the proxy names by their method alone, such as ListBuckets).
measure() {
	local id=$1 proxy=$2 log=$3 rc=0 wall user sys
	shift 3
	curl -sf "${proxy_url[$proxy]}/__counts?reset=1" >/dev/null
	local weed0 mysql0 proxy0 busy0 total0 q0 st0 ucpu0
	weed0=$(cpu_of "$weed_pid")
	mysql0=$(cpu_of "$mysql_pid")
	proxy0=$(cpu_of "${proxy_pid[$proxy]}")
	read -r busy0 total0 < <(machine_ticks)
	read -r q0 st0 ucpu0 < <(db_counters)
	local TIMEFORMAT='%R %U %S'
	{ time "$@" >"$log" 2>&1; } 2>"$out/time" || rc=$?
	local q1 st1 ucpu1 busy1 total1
	read -r q1 st1 ucpu1 < <(db_counters)
	read -r busy1 total1 < <(machine_ticks)
	read -r wall user sys <"$out/time"
	local weed1 mysql1 proxy1
	weed1=$(cpu_of "$weed_pid")
	mysql1=$(cpu_of "$mysql_pid")
	proxy1=$(cpu_of "${proxy_pid[$proxy]}")
	curl -sf "${proxy_url[$proxy]}/__counts?reset=1" >"$out/runs/$id.s3.json"
	jq -n --argjson n "$set_n" --argjson wall "$wall" --argjson user "$user" --argjson sys "$sys" \
		--argjson weed "$(awk -v a="$weed0" -v b="$weed1" 'BEGIN { print b - a }')" \
		--argjson mysql "$(awk -v a="$mysql0" -v b="$mysql1" 'BEGIN { print b - a }')" \
		--argjson proxy "$(awk -v a="$proxy0" -v b="$proxy1" 'BEGIN { print b - a }')" \
		--argjson busy $((busy1 - busy0)) --argjson total $((total1 - total0)) \
		--argjson questions $((q1 - q0 - own_questions)) --argjson rc "$rc" \
		--argjson statements "$([ -n "$userstat_was" ] && echo $((st1 - st0)) || echo null)" \
		--argjson ucpu "$([ -n "$userstat_was" ] && awk -v a="$ucpu0" -v b="$ucpu1" 'BEGIN { print b - a }' || echo null)" \
		--slurpfile s3 "$out/runs/$id.s3.json" '
		def per(x): if $n > 0 and x != null then x / $n else null end;
		def serial: test("^(DeleteObjects|List.*|HeadBucket|CreateBucket|DeleteBucket|GetBucket.*|PutBucket.*|[A-Z]+)$") | not;
		{objects: $n, seconds: $wall, obj_per_s: (if $wall > 0 then $n / $wall else null end), exit: $rc,
		 cpu_s: ($user + $sys), cpu_ms_per_obj: per(1000 * ($user + $sys)),
		 s3_server_cpu_ms_per_obj: per(1000 * $weed), db_server_cpu_ms_per_obj: per(1000 * $mysql),
		 proxy_cpu_ms_per_obj: per(1000 * $proxy),
		 machine_cpu_pct: (if $total > 0 then 100 * $busy / $total else null end),
		 s3_requests: $s3[0].total, s3_requests_per_obj: per($s3[0].total),
		 s3_requests_by_op: $s3[0].requests, s3_requests_per_obj_by_op: ($s3[0].requests | map_values(per(.))),
		 s3_serial_requests_per_obj: (per([$s3[0].requests | to_entries[] | select(.key | serial) | .value] | add // 0)
		                              | if . == null then null else . * 100 | round / 100 end),
		 s3_errors_by_op: $s3[0].errors,
		 db_statements: $statements, db_statements_per_obj: per($statements),
		 db_user_cpu_ms_per_obj: per(if $ucpu == null then null else 1000 * $ucpu end),
		 db_questions: $questions, db_questions_per_obj: per($questions)}' >"$out/runs/$id.json"
	say "  $id: ${wall}s wall, exit status $rc (output in ${log#"$PWD"/})"
}
# after ID SRC DEST EXPECT_SRC: records and prints what is left where.
after() {
	local src dst
	src=$(count_objects "$2")
	dst=$(count_objects "$3")
	say "  now $2 holds $src objects (expected $4), $3 holds $dst (expected $set_n)"
	jq --argjson src "$src" --argjson dst "$dst" '. + {left_in_source: $src, in_destination: $dst}' \
		"$out/runs/$1.json" >"$out/runs/$1.tmp" && mv "$out/runs/$1.tmp" "$out/runs/$1.json"
}
# reported ID LOG: the request or statement counts trashd printed itself, if
# any: fields of its last run's counts, or lines of its output, that name S3
# requests or SQL statements.
reported() {
	local counts lines
	counts=$(bin/trashd status --json 2>/dev/null |
		jq -c '.runs[0].counts // {} | with_entries(select(.key | test("request|statement|quer|s3_|sql"; "i")))' || true)
	[ -n "$counts" ] || counts='{}'
	lines=$(grep -iE 's3 requests|requests per|statements|queries' "$2" | grep -v '^{' | head -5 || true)
	jq --argjson counts "$counts" --arg lines "$lines" \
		'. + {reported: ($counts + (if $lines == "" then {} else {output: ($lines | split("\n"))} end))}' \
		"$out/runs/$1.json" >"$out/runs/$1.tmp" && mv "$out/runs/$1.tmp" "$out/runs/$1.json"
}

# rclone: one remote for both buckets, so that it copies server-side. Its
# checks stay on: it HEADs each copy and compares size and MD5 before deleting
# the source, as trashd compares size and ETag. --fast-list lists the source in
# one recursive walk instead of one listing per "directory" (trashd reads its
# work from MySQL and lists nothing); --s3-no-check-bucket skips creating the
# destination bucket, which exists (trashd does not create it either).
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENV_AUTH=false
export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
export RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
# rclone_move SET PROXY [CONCURRENCY]: --transfers and --checkers are both
# CONCURRENCY (default C). AWS_CA_BUNDLE makes rclone 1.60 fail to build its
# HTTP client.
rclone_move() {
	local c=${3:-$C}
	RCLONE_CONFIG_BENCH_ENDPOINT=${proxy_url[$2]} env -u AWS_CA_BUNDLE /usr/bin/rclone move \
		"bench:bench-$1-src" "bench:bench-$1-trash" \
		--transfers "$c" --checkers "$c" --fast-list --s3-no-check-bucket --stats 0
}
# three_passes [NAME=VALUE...]: three `trashd reconcile` at once on the set
# use_set chose, each with these settings added to its environment.
three_passes() {
	local i pids=() rc=0
	for i in 1 2 3; do
		env "$@" bin/trashd reconcile >"$out/trashd-multi-$i.log" 2>&1 &
		pids+=("$!")
	done
	for i in "${pids[@]}"; do
		wait "$i" || rc=$?
	done
	return "$rc"
}

say "local runs, through the counting proxy with no delay, concurrency $C"
use_set a "$database" local
say "(a) trashd reconcile"
measure local.trashd local "$out/trashd.log" bin/trashd reconcile
after local.trashd bench-a-src bench-a-trash 0
reported local.trashd "$out/trashd.log"
say "(b) rclone move, --transfers $C --checkers $C --fast-list"
measure local.rclone local "$out/rclone.log" rclone_move b local
after local.rclone bench-b-src bench-b-trash 0
say "(c) copyrate"
measure local.copyrate local "$out/copyrate.log" "$bindir/copyrate" -endpoint "${proxy_url[local]}" \
	-bucket bench-c-src -dest bench-c-dst -concurrency "$C"
after local.copyrate bench-c-src bench-c-dst "$N: copyrate deletes nothing"

say "runs with $LATENCY added to every S3 request"
use_set d "${database}_lat" latency
say "(d) trashd reconcile, one process"
measure latency.trashd latency "$out/trashd-latency.log" bin/trashd reconcile
after latency.trashd bench-d-src bench-d-trash 0
reported latency.trashd "$out/trashd-latency.log"
say "(e) rclone move"
measure latency.rclone latency "$out/rclone-latency.log" rclone_move e latency
after latency.rclone bench-e-src bench-e-trash 0

# --- the slow scenario ----------------------------------------------------------------
# bound ID C PROCESSES: adds to runs/ID.json the limit that the slow delay sets
# on PROCESSES processes of C objects in flight, the share of it the run
# reached, and whether the machine's CPU, rather than the delay, was the bound.
slow_ms=$(ms_of "$SLOW_LATENCY")
bound() {
	jq --argjson c "$2" --argjson p "$3" --argjson ms "$slow_ms" '
		(if .s3_serial_requests_per_obj > 0 and $ms > 0
		 then $p * $c / (.s3_serial_requests_per_obj * $ms / 1000) else null end) as $limit |
		. + {concurrency: $c, processes: $p, delay_ms: $ms, limit_obj_per_s: $limit,
		     limit_share: (if $limit == null or .obj_per_s == null then null else .obj_per_s / $limit end),
		     machine_bound: (.machine_cpu_pct != null and .machine_cpu_pct >= 90)}' \
		"$out/runs/$1.json" >"$out/runs/$1.tmp" && mv "$out/runs/$1.tmp" "$out/runs/$1.json"
}
moved_each=null
if [ -n "$slow_sets" ]; then
	set_n=$SLOW_N
	say "slow runs: $SLOW_LATENCY added to every S3 request, $SLOW_N objects, concurrency ${slow_cs[*]}"
	for c in "${slow_cs[@]}"; do
		mapfile -t at < <(trashd_at "$c")
		use_set "g$c" "$(db_of "g$c")" slow
		say "(g$c) trashd reconcile, concurrency $c"
		measure "slow.c$c.trashd" slow "$out/trashd-slow-c$c.log" env "${at[@]}" bin/trashd reconcile
		after "slow.c$c.trashd" "bench-g$c-src" "bench-g$c-trash" 0
		reported "slow.c$c.trashd" "$out/trashd-slow-c$c.log"
		bound "slow.c$c.trashd" "$c" 1
		say "(h$c) rclone move, --transfers $c --checkers $c"
		measure "slow.c$c.rclone" slow "$out/rclone-slow-c$c.log" rclone_move "h$c" slow "$c"
		after "slow.c$c.rclone" "bench-h$c-src" "bench-h$c-trash" 0
		bound "slow.c$c.rclone" "$c" 1
	done
	multi_c=${slow_cs[0]}
	mapfile -t at < <(trashd_at "$multi_c")
	use_set f "$(db_of f)" slow
	set_n=$((3 * SLOW_N))
	say "(f) three trashd reconcile processes on one backlog of $set_n objects, concurrency $multi_c each"
	measure slow.multi.three slow "$out/trashd-multi.log" three_passes "${at[@]}"
	after slow.multi.three bench-f-src bench-f-trash 0
	bound slow.multi.three "$multi_c" 3
	# From each pass's summary: "  discovered D, moved M (...), ...".
	moved_each=$(for i in 1 2 3; do
		m=$(sed -n 's/^  discovered [0-9]*, moved \([0-9]*\).*/\1/p' "$out/trashd-multi-$i.log" | head -1)
		echo "${m:-null}"
	done | jq -s -c .)
fi
stop_proxies

# runs/slow.json: the slow scenario's runs, by concurrency, and the multi run.
if [ -n "$slow_sets" ]; then
	jq -n --arg latency "$SLOW_LATENCY" --argjson ms "$slow_ms" --argjson n "$SLOW_N" \
		--argjson cs "$(printf '%s\n' "${slow_cs[@]}" | jq -s -c .)" \
		'{skipped: false, latency: $latency, latency_ms: $ms, n: $n, concurrency: $cs}' >"$out/runs/slow.json"
	for c in "${slow_cs[@]}"; do
		jq --arg key "c$c" --slurpfile t "$out/runs/slow.c$c.trashd.json" --slurpfile r "$out/runs/slow.c$c.rclone.json" '
			.[$key] = {trashd: $t[0], rclone: $r[0],
			           trashd_vs_rclone: (if ($r[0].obj_per_s // 0) > 0 then $t[0].obj_per_s / $r[0].obj_per_s else null end)}' \
			"$out/runs/slow.json" >"$out/runs/slow.tmp" && mv "$out/runs/slow.tmp" "$out/runs/slow.json"
	done
	jq --arg key "c$multi_c" --argjson c "$multi_c" --argjson moved_each "$moved_each" --slurpfile m3 "$out/runs/slow.multi.three.json" '
		.[$key].trashd as $one | $m3[0] as $three |
		.multi = {concurrency: $c, one_obj_per_s: $one.obj_per_s, one_cpu_pct: $one.machine_cpu_pct,
		          three_obj_per_s: $three.obj_per_s, three_cpu_pct: $three.machine_cpu_pct,
		          ratio: (if ($one.obj_per_s // 0) > 0 then $three.obj_per_s / $one.obj_per_s else null end),
		          three: $three, three_moved_each: $moved_each}' \
		"$out/runs/slow.json" >"$out/runs/slow.tmp" && mv "$out/runs/slow.tmp" "$out/runs/slow.json"
else
	echo '{"skipped": true, "multi": {"skipped": true}}' >"$out/runs/slow.json"
fi

# --- discovery at scale ---------------------------------------------------------------
case $disco in
built)
	say "discovery: scripts/benchdisco -json"
	disco_rc=0
	# It gets dev-up's TRASHD_TEST_* settings, not trashd's configuration for
	# the sets above, and the trashd just built when it takes one.
	disco_args=(-json)
	if "$bindir/benchdisco" -h 2>&1 | grep -q -- '-trashd'; then disco_args+=(-trashd "$PWD/bin/trashd"); fi
	mapfile -t trashd_vars < <(compgen -e | grep '^TRASHD_' | grep -v '^TRASHD_TEST_' || true)
	env "${trashd_vars[@]/#/--unset=}" "$bindir/benchdisco" "${disco_args[@]}" \
		>"$out/discovery.json" 2>"$out/benchdisco.log" || disco_rc=$?
	if ! jq -e 'type == "object"' "$out/discovery.json" >/dev/null 2>&1; then
		say "  benchdisco printed no JSON object (exit status $disco_rc; see ${out#"$PWD"/}/benchdisco.log)" >&2
		echo '{}' >"$out/discovery.json"
	fi
	jq --argjson rc "$disco_rc" '{built: true, exit: $rc} + .' "$out/discovery.json" >"$out/runs/discovery.json"
	;;
skipped) echo '{"built": false, "skipped": true}' >"$out/runs/discovery.json" ;;
broken) echo '{"built": false, "error": "scripts/benchdisco does not build"}' >"$out/runs/discovery.json" ;;
*) echo '{"built": false}' >"$out/runs/discovery.json" ;;
esac

# --- reading an inventory report ------------------------------------------------------
# benchinv writes its report into a bucket of its own and deletes it when done.
case $inv in
built)
	say "inventory: scripts/benchinv -json -rows $INVENTORY_ROWS"
	inv_rc=0
	"$bindir/benchinv" -json -rows "$INVENTORY_ROWS" >"$out/inventory.json" 2>"$out/benchinv.log" || inv_rc=$?
	if ! jq -e 'type == "object"' "$out/inventory.json" >/dev/null 2>&1; then
		say "  benchinv printed no JSON object (exit status $inv_rc; see ${out#"$PWD"/}/benchinv.log)" >&2
		echo '{}' >"$out/inventory.json"
	fi
	jq --argjson rc "$inv_rc" '{built: true, exit: $rc} + . + {confirm: null}' "$out/inventory.json" >"$out/runs/inventory.json"
	;;
skipped) echo '{"built": false, "skipped": true, "confirm": null}' >"$out/runs/inventory.json" ;;
broken) echo '{"built": false, "error": "scripts/benchinv does not build", "confirm": null}' >"$out/runs/inventory.json" ;;
*) echo '{"built": false, "confirm": null}' >"$out/runs/inventory.json" ;;
esac
# The confirmation benchmark: as many records as the report has rows, waiting
# for their transition, checked against a report of them (scripts/benchconfirm:
# time, peak RSS, and the HEADs a pass sends against a sweep's one per record);
# its figures replace .confirm in runs/inventory.json.
if [ "$inv" = built ] && [ -f scripts/benchconfirm/main.go ]; then
	if go build -o "$bindir/benchconfirm" ./scripts/benchconfirm 2>"$out/benchconfirm-build.log"; then
		say "inventory: scripts/benchconfirm -json -records $INVENTORY_ROWS"
		conf_rc=0
		"$bindir/benchconfirm" -json -records "$INVENTORY_ROWS" >"$out/confirm.json" 2>"$out/benchconfirm.log" || conf_rc=$?
		if jq -e 'type == "object"' "$out/confirm.json" >/dev/null 2>&1; then
			jq --slurpfile c "$out/confirm.json" '.confirm = $c[0]' "$out/runs/inventory.json" >"$out/runs/inventory.json.new" &&
				mv "$out/runs/inventory.json.new" "$out/runs/inventory.json"
		else
			say "  benchconfirm printed no JSON object (exit status $conf_rc; see ${out#"$PWD"/}/benchconfirm.log)" >&2
		fi
	else
		say "scripts/benchconfirm does not build (see ${out#"$PWD"/}/benchconfirm-build.log)" >&2
	fi
fi

if [ "${BENCH_KEEP:-0}" != 1 ]; then
	say "removing the bench-* buckets (BENCH_KEEP=1 keeps them)"
	remove_buckets
fi

# --- result.json ------------------------------------------------------------------------
latency_ms=$(ms_of "$LATENCY")
version=$(bin/trashd version 2>/dev/null | head -1 || true)
version=${version#trashd }
r=$out/runs
jq -n --argjson n "$N" --arg size "$SIZE" --argjson c "$C" --arg latency "$LATENCY" --argjson latency_ms "$latency_ms" \
	--argjson cores "$(nproc)" --arg load "$load" --arg version "$version" --arg date "$(date -u +%FT%TZ)" \
	--slurpfile lt "$r/local.trashd.json" --slurpfile lr "$r/local.rclone.json" --slurpfile lc "$r/local.copyrate.json" \
	--slurpfile dt "$r/latency.trashd.json" --slurpfile dr "$r/latency.rclone.json" --slurpfile sl "$r/slow.json" \
	--slurpfile disco "$r/discovery.json" --slurpfile inv "$r/inventory.json" '
	def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
	($lt[0]) as $lt | ($lr[0]) as $lr | ($lc[0]) as $lc | ($dt[0]) as $dt | ($dr[0]) as $dr | ($sl[0]) as $sl |
	def with_servers(x): x.cpu_ms_per_obj + x.s3_server_cpu_ms_per_obj + x.db_server_cpu_ms_per_obj + x.proxy_cpu_ms_per_obj;
	# The slow scenario by concurrency: {key: "c8", value: {trashd, rclone, ...}}, ...
	def slow_cs: $sl | to_entries[] | select(.key | test("^c[0-9]+$"));
	# worst(f): the most that any trashd run spent per object.
	def worst(f): [$lt, $dt, (slow_cs | .value.trashd), $sl.multi.three | select(. != null) | f | select(. != null)] | max;
	{meta: {n: $n, size: $size, concurrency: $c, latency: $latency, latency_ms: $latency_ms, cores: $cores,
	        load_before: $load, trashd_version: $version, date: $date},
	 local: {trashd: $lt, rclone: $lr, copyrate: $lc,
	         mariadb: {cpu_ms_per_obj: $lt.db_server_cpu_ms_per_obj, trashd_user_cpu_ms_per_obj: $lt.db_user_cpu_ms_per_obj},
	         seaweedfs: {cpu_ms_per_obj: $lt.s3_server_cpu_ms_per_obj}},
	 latency: {trashd: $dt, rclone: $dr},
	 slow: $sl,
	 multi: $sl.multi,
	 discovery: $disco[0],
	 inventory: $inv[0],
	 ratios: ({trashd_vs_rclone_local: ratio($lt.obj_per_s; $lr.obj_per_s),
	           trashd_vs_rclone_latency: ratio($dt.obj_per_s; $dr.obj_per_s),
	           cpu_trashd_vs_rclone: ratio($lt.cpu_ms_per_obj; $lr.cpu_ms_per_obj),
	           cpu_with_servers_trashd_vs_rclone: ratio(with_servers($lt); with_servers($lr)),
	           trashd_vs_copyrate_local: ratio($lt.obj_per_s; $lc.obj_per_s)}
	          + ([slow_cs | {key: "slow_\(.key)_trashd_vs_rclone", value: .value.trashd_vs_rclone},
	                        {key: "slow_\(.key)_trashd_limit_share", value: .value.trashd.limit_share}] | from_entries)
	          + {multi_three_vs_one: $sl.multi.ratio,
	             trashd_serial_requests_per_obj: worst(.s3_serial_requests_per_obj),
	             trashd_db_statements_per_obj: worst(.db_statements_per_obj),
	             trashd_db_cpu_ms_per_obj: worst(.db_user_cpu_ms_per_obj)}),
	 goals: {trashd_vs_rclone_local: {min: 1.5}, trashd_vs_rclone_latency: {min: 1.5},
	         cpu_trashd_vs_rclone: {max: 0.5}, slow_c16_trashd_vs_rclone: {min: 2.5},
	         slow_c8_trashd_limit_share: {min: 0.8}, multi_three_vs_one: {min: 2.7},
	         trashd_serial_requests_per_obj: {max: 1.1}, trashd_db_statements_per_obj: {max: 0.2},
	         trashd_db_cpu_ms_per_obj: {max: 0.12}}}' >"$out/result.json"

# --- report --------------------------------------------------------------------------
res=$out/result.json
# runs_jq: the runs in the order the report lists them, each as [name, figures].
# shellcheck disable=SC2016 # jq, not the shell, expands these
runs_jq='
	def slow_cs: .slow | to_entries[] | select(.key | test("^c[0-9]+$"));
	def runs: ["trashd", .local.trashd], ["rclone move", .local.rclone], ["raw CopyObject", .local.copyrate],
		["trashd +" + .meta.latency, .latency.trashd], ["rclone +" + .meta.latency, .latency.rclone],
		(.slow as $s | (slow_cs | ["trashd \(.key) +" + $s.latency, .value.trashd], ["rclone \(.key) +" + $s.latency, .value.rclone]),
		 (if $s.multi.three then ["3x trashd c\($s.multi.concurrency) +" + $s.latency, $s.multi.three] else empty end));
	def trashd_runs: runs | select(.[0] | test("trashd"));
	def r2: if type == "number" then . * 100 | round / 100 else . end;
'
echo
echo "$N objects of $SIZE each, concurrency $C, on $(nproc) cores (load average before the runs: $load); trashd $version"
if [ -n "$slow_sets" ]; then
	echo "the slow runs: $SLOW_N objects each, +$SLOW_LATENCY per request, at the concurrency their name gives"
fi
jq -r "$runs_jq"'
	def row(name; x): [name, x.objects, x.seconds, x.obj_per_s, x.cpu_s, x.cpu_ms_per_obj, x.s3_server_cpu_ms_per_obj,
	                   x.db_server_cpu_ms_per_obj, x.proxy_cpu_ms_per_obj, x.machine_cpu_pct, x.s3_requests_per_obj,
	                   x.db_statements_per_obj, x.db_questions_per_obj, x.exit] | map(. // "-") | @tsv;
	runs as [$name, $x] | row($name; $x)' "$res" | awk -F'\t' '
function num(v, f) { return v == "-" ? sprintf("%" length(sprintf(f, 0)) "s", "-") : sprintf(f, v) }
BEGIN {
	printf "%-18s %7s %7s %9s %6s %7s %7s %7s %7s %8s %7s %8s %9s %4s\n", "", "", "", "", "", "CPU", "S3 CPU", "DB CPU", "proxy", "", "S3", "DB", "Questions", ""
	printf "%-18s %7s %7s %9s %6s %7s %7s %7s %7s %8s %7s %8s %9s %4s\n", "tool", "objects", "seconds", "objects/s", "CPU s", "ms/obj", "ms/obj", "ms/obj", "ms/obj", "machine", "req/obj", "stmt/obj", "/obj", "exit"
}
{
	printf "%-18s %7d %7.2f %9.1f %6.2f %7.2f %7.2f %7.2f %7.2f %7.0f%% %7.2f %8s %9.2f %4s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, num($12, "%8.2f"), $13, $14
}'

echo
echo "S3 requests per object, by operation, as the proxy saw them (errors: answers of 400 or more):"
jq -r "$runs_jq"'
	def ops(name; x): x as $x | "  " + name + ": " + ([$x.s3_requests_by_op | to_entries[] | "\(.key) \(.value / $x.objects * 100 | round / 100) (\(.value))"] | join(", "))
		+ (if ($x.s3_errors_by_op | length) > 0 then "; errors: " + ([$x.s3_errors_by_op | to_entries[] | "\(.key) \(.value)"] | join(", ")) else "" end);
	runs as [$name, $x] | ops($name; $x)' "$res"
jq -r "$runs_jq"'
	def said(name; x): "  " + name + ": " + (if (x.reported | length) == 0 then "none printed" else (x.reported | tostring) end);
	def db(name; x): "  " + name + ": \(x.db_statements // "-") statements (\(x.db_statements_per_obj // "-" | r2)/obj) and \(x.db_user_cpu_ms_per_obj // "-" | r2) ms CPU/obj by trashd'"'"'s user; global Questions \(x.db_questions); mariadbd \(x.db_server_cpu_ms_per_obj | r2) ms CPU/obj";
	"MariaDB over the trashd runs (USER_STATISTICS for trashd'"'"'s user; Questions and the process CPU count every client):",
	(trashd_runs as [$name, $x] | db($name; $x)),
	"trashd'"'"'s own counts, beside the proxy'"'"'s and MariaDB'"'"'s:",
	(trashd_runs | select(.[1].reported) as [$name, $x] |
		said($name; $x) + " (server-side: \($x.s3_requests) S3 requests, \($x.db_statements // $x.db_questions) DB statements)")' "$res"

if [ -n "$slow_sets" ]; then
	echo
	echo "+$SLOW_LATENCY per S3 request: the limit is processes x C / (S3 requests in series per object x delay)"
	jq -r "$runs_jq"'
		runs | select(.[1].processes != null) as [$name, $x] |
		[$name, "\($x.processes)x\($x.concurrency)", $x.obj_per_s, $x.s3_serial_requests_per_obj, $x.limit_obj_per_s,
		 $x.limit_share, $x.machine_cpu_pct, $x.machine_bound] | map(. // "-") | @tsv' "$res" | awk -F'\t' '
	function num(v, f) { return v == "-" ? sprintf("%" length(sprintf(f, 0)) "s", "-") : sprintf(f, v) }
	BEGIN {
		printf "  %-18s %9s %9s %9s %9s %7s %8s\n", "", "processes", "", "in series", "limit", "share", "machine"
		printf "  %-18s %9s %9s %9s %9s %7s %8s\n", "run", "x C", "objects/s", "req/obj", "objects/s", "of it", "CPU"
	}
	{
		printf "  %-18s %9s %9s %9s %9s %6s%% %7s%%\n", $1, $2, num($3, "%9.1f"), num($4, "%9.2f"), num($5, "%9.1f"),
			$6 == "-" ? "-" : sprintf("%.0f", 100 * $6), $7 == "-" ? "-" : sprintf("%.0f", $7)
		if ($8 == "true") bound[++n] = sprintf("  %s: the machine'"'"'s CPU was %.0f%% busy, so the machine, not the delay, bounds this run", $1, $7)
	}
	END { for (i = 1; i <= n; i++) print bound[i] }'
	echo
	jq -r '.slow.multi | "three processes against one, +\(.three.delay_ms)ms per request, concurrency \(.concurrency) each: one \(.one_obj_per_s * 10 | round / 10) objects/s (machine CPU \(.one_cpu_pct | round)%), three \(.three_obj_per_s * 10 | round / 10) objects/s (machine CPU \(.three_cpu_pct | round)%; moved \(.three_moved_each | map(tostring) | join(" + ")))"' "$res"
fi

echo
jq -r '
	def f(x): if x == null then "-" else "\(x * 100 | round / 100)x" end;
	def n(x): if x == null then "-" else "\(x * 1000 | round / 1000)" end;
	def pct(x): if x == null then "-" else "\(x * 100 | round)%" end;
	(if .slow.skipped then "skipped" else "+" + .slow.latency end) as $slow |
	["ratio", "value", "goal"], ["-----", "-----", "----"],
	["trashd / rclone objects/s", f(.ratios.trashd_vs_rclone_local), ">= 1.5x"],
	["trashd / rclone objects/s, +" + .meta.latency, f(.ratios.trashd_vs_rclone_latency), ">= 1.5x"],
	["trashd / rclone CPU ms per object", f(.ratios.cpu_trashd_vs_rclone), "<= 0.5x"],
	["  the same with the servers'"'"' and proxy'"'"'s CPU", f(.ratios.cpu_with_servers_trashd_vs_rclone), ""],
	["trashd / rclone objects/s, " + $slow + ", C 16", f(.ratios.slow_c16_trashd_vs_rclone), ">= 2.5x"],
	["trashd share of its limit, " + $slow + ", C 8", pct(.ratios.slow_c8_trashd_limit_share), ">= 80%"],
	["3 / 1 trashd processes objects/s, " + $slow, f(.ratios.multi_three_vs_one), ">= 2.7x"],
	["trashd S3 requests in series per object, most", n(.ratios.trashd_serial_requests_per_obj), "<= 1.1"],
	["trashd DB statements per object, most", n(.ratios.trashd_db_statements_per_obj), "<= 0.2"],
	["trashd DB CPU ms per object, most", n(.ratios.trashd_db_cpu_ms_per_obj), "<= 0.12"],
	["trashd / raw CopyObject objects/s", f(.ratios.trashd_vs_copyrate_local), ""] | @tsv' "$res" |
	awk -F'\t' '{ printf "  %-46s %7s  %s\n", $1, $2, $3 }'
echo "  (\"most\": the highest of trashd's runs above)"

echo
jq -r '
	.discovery as $d |
	if $d.skipped then "discovery: skipped (BENCH_DISCOVERY=0)"
	elif $d.built | not then "discovery: not built" + (if $d.error then " (\($d.error))" else "" end)
	else "discovery (scripts/benchdisco):",
		($d | paths(scalars) as $p | "  \($p | map(tostring) | join(".")): \(getpath($p))")
	end' "$res"

echo
jq -r '
	.inventory as $i |
	def fmt(name; x): "  \(name): \(x.rows_read) rows in \(x.seconds * 100 | round / 100) s, \(x.rows_per_s | round) rows/s, peak RSS \(x.peak_rss_mb | round) MB (\(x.files) files, \(x.bytes / 1e6 * 10 | round / 10) MB)";
	if $i.skipped then "inventory: skipped (BENCH_INVENTORY=0)"
	elif $i.built | not then "inventory: not built" + (if $i.error then " (\($i.error))" else "" end)
	elif $i.parquet == null then "inventory: no figures (exit status \($i.exit))"
	else "reading an inventory report of \($i.rows) rows (goal for 10^6: at most \($i.goals.max_seconds) s and \($i.goals.max_rss_mb) MB RSS):",
		fmt("Parquet"; $i.parquet), fmt("CSV.gz"; $i.csv),
		(if $i.confirm == null then "  confirmation from the report: not measured" else "  confirmation: \($i.confirm | tostring)" end)
	end' "$res"

cat <<NOTE

Every tool talks S3 through scripts/s3proxy, which counts requests per operation (with no
delay in the first three rows, +$LATENCY per request in the next two, +$SLOW_LATENCY in the
slow runs). Requests in series per object are all but DeleteObjects, listings and
bucket-level requests: those each object waits for one after another. CPU ms/obj is the
tool itself (user + system, children included); S3, DB and proxy CPU are what SeaweedFS,
MariaDB and the proxy spent over the same interval; machine is all cores' busy share.
DB stmt/obj is what trashd's MariaDB user sent (USER_STATISTICS); Questions/obj is the
server's global Questions over the run, every client's, so the rclone and copyrate rows
show what others sent meanwhile. The servers share this machine's cores with the tool
being measured, so a tool that burns more CPU also slows the server it waits for, and
the rates are this machine's, not S3's.
Figures: ${res#"$PWD"/}
NOTE
