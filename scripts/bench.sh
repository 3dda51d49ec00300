#!/usr/bin/env bash
# Benchmark: how fast and how cheaply trashd moves objects into a trash bucket,
# next to `rclone move` (server-side copy, same checks left on) and the
# server's raw CopyObject rate, on the local dev servers. It prints figures,
# not a verdict.
#
#   BENCH_N=2000 BENCH_SIZE=16KiB BENCH_CONCURRENCY=16 scripts/bench.sh
#
# Three identical sets of N objects are seeded (same keys, sizes and bytes):
#   A  bench-a-src -> bench-a-trash  by one `trashd reconcile` pass (table files_a, all trashed)
#   B  bench-b-src -> bench-b-trash  by `rclone move` on one remote, so it copies server-side
#   C  bench-c-src -> bench-c-dst    by scripts/copyrate: one CopyObject each, nothing else
# Each is timed on the wall clock and in CPU seconds (user + system, of the
# process and its children), and so are the S3 server and MariaDB over the
# same interval, read from /proc.
#
# `make bench` runs it after dev-up and build; run directly, it starts the dev
# servers when they do not answer, and builds what it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_N:-2000}
SIZE=${BENCH_SIZE:-16KiB}
C=${BENCH_CONCURRENCY:-16}
SEED=${BENCH_SEED:-1}
dev=${TRASHD_DEV_DIR:-$PWD/.dev}
out=$dev/bench
database=trashd_bench

say() { echo "bench: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- tools ---------------------------------------------------------------------
# Debian's aws CLI and rclone, called by full path: a pip-installed aws earlier
# on PATH may be another major version.
if [ ! -x /usr/bin/aws ] || [ ! -x /usr/bin/rclone ] || ! command -v jq >/dev/null; then
	say "installing awscli, rclone and jq from Debian's packages"
	apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli rclone jq >/dev/null; }
	apt_install 2>/dev/null || { as_root apt-get update -qq && apt_install; }
fi

# --- servers -------------------------------------------------------------------
s3_answers() {
	[ -f "$dev/env" ] || return 1
	# shellcheck disable=SC1091
	(source "$dev/env" && curl -sf -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$TRASHD_TEST_S3_ACCESS_KEY:$TRASHD_TEST_S3_SECRET_KEY" "$TRASHD_TEST_S3_ENDPOINT/")
}
mysql_answers() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }
if ! s3_answers || ! mysql_answers; then
	scripts/dev-up.sh
fi
# shellcheck disable=SC1091
source "$dev/env"
endpoint=$TRASHD_TEST_S3_ENDPOINT

say "building trashd, seed and copyrate"
mkdir -p "$dev/bin" "$out"
make --no-print-directory -s build # the Makefile stamps the version
go build -o "$dev/bin/seed" ./scripts/seed
go build -o "$dev/bin/copyrate" ./scripts/copyrate

export AWS_ACCESS_KEY_ID=$TRASHD_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TRASHD_TEST_S3_SECRET_KEY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
s3api() { /usr/bin/aws --endpoint-url "$endpoint" s3api "$@"; }
# Counts Contents over every page: SeaweedFS leaves KeyCount out, and with
# --output text the CLI would apply the query to each page on its own.
# shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
count_objects() { s3api list-objects-v2 --bucket "$1" --query 'length(Contents || `[]`)' --output json; }
sql() { mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -N -B "$@"; }

# --- three identical sets ----------------------------------------------------------
say "seeding 3 identical sets of $N objects of $SIZE"
sql -e "DROP DATABASE IF EXISTS \`$database\`; CREATE DATABASE \`$database\` CHARACTER SET utf8mb4"
for b in bench-a-src bench-a-trash bench-b-src bench-b-trash bench-c-src bench-c-dst; do
	if s3api head-bucket --bucket "$b" >/dev/null 2>&1; then
		/usr/bin/aws --endpoint-url "$endpoint" s3 rb "s3://$b" --force >/dev/null
	fi
done
for set in a b c; do
	"$dev/bin/seed" -database "$database" -table "files_$set" -bucket "bench-$set-src" -reset \
		-n "$N" -size "$SIZE" -trash-fraction 1 -seed "$SEED" -concurrency "$C"
done
listing() { s3api list-objects-v2 --bucket "$1" --query 'Contents[].[Key, Size, ETag]' --output json | md5sum; }
set_a=$(listing bench-a-src)
if [ "$set_a" = "$(listing bench-b-src)" ] && [ "$set_a" = "$(listing bench-c-src)" ]; then
	say "the three sets list the same keys, sizes and ETags"
else
	say "the three sets differ: the comparison below is not like for like" >&2
fi
# SeaweedFS allocates a bucket's volumes on its first write, which stalls that
# write for most of a second: write once to each destination before timing.
head -c 16384 /dev/zero >"$out/warmup"
for b in bench-a-trash bench-b-trash bench-c-dst; do
	s3api create-bucket --bucket "$b" >/dev/null
	s3api put-object --bucket "$b" --key warmup --body "$out/warmup" >/dev/null
	s3api delete-object --bucket "$b" --key warmup >/dev/null
done

# --- measuring -----------------------------------------------------------------------
ticks=$(getconf CLK_TCK)
weed_pid=$(cat "$dev/weed.pid")
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

results=()
load=$(cut -d' ' -f1-3 /proc/loadavg)
# measure NAME LOG COMMAND...: runs COMMAND with its output in LOG and keeps
# "NAME|wall|cpu|s3 cpu|mysql cpu|exit status".
measure() {
	local name=$1 log=$2 rc=0 wall user sys
	shift 2
	local weed0 mysql0
	weed0=$(cpu_of "$weed_pid")
	mysql0=$(cpu_of "$mysql_pid")
	local TIMEFORMAT='%R %U %S'
	{ time "$@" >"$log" 2>&1; } 2>"$out/time" || rc=$?
	read -r wall user sys <"$out/time"
	local weed1 mysql1
	weed1=$(cpu_of "$weed_pid")
	mysql1=$(cpu_of "$mysql_pid")
	results+=("$name|$wall|$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')|$(awk -v a="$weed0" -v b="$weed1" 'BEGIN { printf "%.2f", b - a }')|$(awk -v a="$mysql0" -v b="$mysql1" 'BEGIN { printf "%.2f", b - a }')|$rc")
	say "  $name: ${wall}s wall, exit status $rc (output in ${log#"$PWD"/})"
}
# after SRC DEST EXPECT_SRC: prints what is left where.
after() {
	local src dst
	src=$(count_objects "$1")
	dst=$(count_objects "$2")
	say "  now $1 holds $src objects (expected $3), $2 holds $dst (expected $N)"
}

# (a) trashd
export TRASHD_MYSQL_HOST=127.0.0.1 TRASHD_MYSQL_PORT=3306 TRASHD_MYSQL_USER=root TRASHD_MYSQL_PASSWORD=
export TRASHD_MYSQL_DATABASE=$database TRASHD_MYSQL_TLS=false
export TRASHD_LMS_TABLE=files_a TRASHD_LMS_ID_COLUMN=id TRASHD_LMS_KEY_COLUMN=s3_key
export TRASHD_LMS_TRASH_COLUMN=trashed TRASHD_LMS_TRASH_KIND=flag
export TRASHD_S3_ENDPOINT=$endpoint TRASHD_S3_REGION=us-east-1 TRASHD_S3_PATH_STYLE=true TRASHD_S3_CHECKSUMS=when_required
export TRASHD_SOURCE_BUCKET=bench-a-src TRASHD_TRASH_BUCKET=bench-a-trash
export TRASHD_MULTIPART_THRESHOLD=8MiB TRASHD_PART_SIZE=5MiB TRASHD_CONCURRENCY=$C TRASHD_LOG_LEVEL=info
# Every row of the benchmark's table is trashed at once, on purpose: let the
# pass through the mass-change brake.
export TRASHD_ALLOW_MASS_CHANGE=true
bin/trashd migrate >"$out/trashd-migrate.log" 2>&1
say "(a) trashd reconcile, concurrency $C"
measure "trashd reconcile" "$out/trashd.log" bin/trashd reconcile
after bench-a-src bench-a-trash 0

# (b) rclone: one remote for both buckets, so that it copies server-side.
# Its checks stay on: it HEADs each copy and compares size and MD5 before
# deleting the source, as trashd compares size and ETag. --fast-list lists the
# source in one recursive walk instead of one listing per "directory" (trashd
# reads its work from MySQL and lists nothing); --s3-no-check-bucket skips
# creating the destination bucket, which exists (trashd does not create it
# either).
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENV_AUTH=false
export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
export RCLONE_CONFIG_BENCH_ENDPOINT=$endpoint RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
say "(b) rclone move, --transfers $C --checkers $C --fast-list"
# AWS_CA_BUNDLE makes rclone 1.60 fail to build its HTTP client.
measure "rclone move" "$out/rclone.log" env -u AWS_CA_BUNDLE /usr/bin/rclone move bench:bench-b-src bench:bench-b-trash \
	--transfers "$C" --checkers "$C" --fast-list --s3-no-check-bucket --stats 0
after bench-b-src bench-b-trash 0

# (c) raw CopyObject
say "(c) copyrate, concurrency $C"
measure "raw CopyObject" "$out/copyrate.log" "$dev/bin/copyrate" -bucket bench-c-src -dest bench-c-dst -concurrency "$C"
after bench-c-src bench-c-dst "$N: copyrate deletes nothing"

# --- report --------------------------------------------------------------------------
echo
echo "$N objects of $SIZE each, concurrency $C, on $(nproc) cores (load average before the runs: $load)"
printf '%s\n' "${results[@]}" | awk -F'|' -v n="$N" '
BEGIN {
	printf "%-18s %7s %8s %9s %6s %10s %9s %9s %s\n", "tool", "objects", "seconds", "objects/s", "CPU s", "CPU ms/obj", "S3 CPU s", "DB CPU s", "exit"
}
{
	printf "%-18s %7d %8.2f %9.1f %6.2f %10.2f %9.2f %9.2f %s\n", $1, n, $2, n / $2, $3, 1000 * $3 / n, $4, $5, $6
	wall[NR] = $2; cpu[NR] = $3; srv[NR] = $4 + $5
}
END {
	print ""
	print "ratios:"
	printf "  trashd vs rclone:          %.2fx the throughput, %.2fx the CPU per object (%.2fx with the servers'"'"' CPU)\n",
		wall[2] / wall[1], cpu[1] / cpu[2], (cpu[1] + srv[1]) / (cpu[2] + srv[2])
	printf "  trashd vs raw CopyObject:  %.2fx the throughput (%.0f%% of the server'"'"'s raw copy rate)\n",
		wall[3] / wall[1], 100 * wall[3] / wall[1]
}'
cat <<'NOTE'

CPU s is the tool itself (user + system, children included). S3 CPU s and DB CPU s
are what SeaweedFS and MariaDB spent over the same interval. Both servers run on this
same machine and share its cores with the tool being measured, so a tool that burns
more CPU also slows the server it waits for, and the rates are this machine's, not
S3's. Per object, trashd sends HEAD, CopyObject, HEAD and DELETE, writes its
records to MariaDB (3 updates, plus a share of a batch claim) and reads it four
times (twice whether an untrashed LMS row still names the object, once whether
another record of it moves first, and a fence when the last one is old);
rclone lists the source, then sends CopyObject, HEAD and DELETE; copyrate sends
only CopyObject.
NOTE
