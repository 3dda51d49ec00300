#!/usr/bin/env bash
# Demo: seeds a sample LMS on the local dev servers (database trashd_demo,
# buckets lms-files and lms-trash), runs one `trashd reconcile` pass and shows
# what it did. `make demo` runs it after dev-up and build; run directly, it
# starts the dev servers itself when they do not answer, and builds trashd.
#
# Safe to run again: the database and both buckets are recreated each time.
# Exits 0 when the pass ran; the seeded rows without an object make trashd exit
# 3 (objects missing), which is what the demo expects.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=${TRASHD_DEV_DIR:-$PWD/.dev}
database=trashd_demo
source_bucket=lms-files
trash_bucket=lms-trash
inventory_bucket=lms-inventory
missing=2

say() { echo "demo: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- tools -------------------------------------------------------------------
# Debian's aws CLI, called by full path: a pip-installed aws earlier on PATH
# may be another, older major version. jq reads trashd's JSON logs.
if [ ! -x /usr/bin/aws ] || ! command -v jq >/dev/null; then
	say "installing awscli and jq from Debian's packages"
	apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli jq >/dev/null; }
	apt_install 2>/dev/null || { as_root apt-get update -qq && apt_install; }
fi

# --- servers -----------------------------------------------------------------
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

say "building trashd and the seed tool"
mkdir -p "$dev/bin"
make --no-print-directory -s build # the Makefile stamps the version
go build -o "$dev/bin/seed" ./scripts/seed
go build -o "$dev/bin/glacier" ./scripts/glacier

# --- Glacier emulation ---------------------------------------------------------
# No local S3 server does lifecycle transitions or restores: the emulation
# layer (s3ops/s3test/glacier) answers those in front of SeaweedFS and passes
# everything else through. One lifecycle "day" lasts $day_length here.
day_length=2s
"$dev/bin/glacier" -listen 127.0.0.1:0 -day "$day_length" -target "$TRASHD_TEST_S3_ENDPOINT" \
	>"$dev/demo-glacier.url" 2>"$dev/demo-glacier.log" &
glacier_pid=$!
trap 'kill $glacier_pid 2>/dev/null || true' EXIT
# Until it has written its URL or exited, however slow the machine (at most
# two minutes).
for _ in $(seq 1 1200); do
	[ -s "$dev/demo-glacier.url" ] && break
	kill -0 "$glacier_pid" 2>/dev/null || break
	sleep 0.1
done
glacier_url=$(head -n 1 "$dev/demo-glacier.url")
[ -n "$glacier_url" ] || { say "the Glacier emulation did not start:"; cat "$dev/demo-glacier.log" >&2; exit 1; }
say "Glacier emulation at $glacier_url (one lifecycle day = $day_length) in front of $TRASHD_TEST_S3_ENDPOINT"

# --- configuration -----------------------------------------------------------
export TRASHD_MYSQL_HOST=127.0.0.1 TRASHD_MYSQL_PORT=3306 TRASHD_MYSQL_USER=root TRASHD_MYSQL_PASSWORD=
export TRASHD_MYSQL_DATABASE=$database TRASHD_MYSQL_TLS=false
export TRASHD_LMS_TABLE=files TRASHD_LMS_ID_COLUMN=id TRASHD_LMS_KEY_COLUMN=s3_key
export TRASHD_LMS_BUCKET_COLUMN=bucket TRASHD_LMS_TRASH_COLUMN=trashed TRASHD_LMS_TRASH_KIND=flag
export TRASHD_S3_ENDPOINT=$glacier_url TRASHD_S3_REGION=us-east-1
export TRASHD_S3_PATH_STYLE=true TRASHD_S3_CHECKSUMS=when_required
export TRASHD_SOURCE_BUCKET=$source_bucket TRASHD_TRASH_BUCKET=$trash_bucket
export TRASHD_MULTIPART_THRESHOLD=8MiB TRASHD_PART_SIZE=5MiB
export TRASHD_CONCURRENCY=${TRASHD_CONCURRENCY:-64} TRASHD_LOG_LEVEL=${TRASHD_LOG_LEVEL:-info}
# Archive after one (accelerated) day; restores at the Expedited tier, looked at every second.
export TRASHD_TRANSITION_DAYS=1 TRASHD_STORAGE_CLASS=GLACIER TRASHD_LIFECYCLE_MODE=verify TRASHD_TRANSITION_GRACE=1h
export TRASHD_RESTORE_TIER=Expedited TRASHD_RESTORE_POLL=1s TRASHD_LIFECYCLE_DAY_LENGTH=$day_length
# The trash bucket's S3 Inventory: `trashd lifecycle --apply` puts the
# configuration, the emulation writes a report every lifecycle day, and
# passes confirm transitions from the newest one.
export TRASHD_INVENTORY_BUCKET=$inventory_bucket TRASHD_INVENTORY_PREFIX=trashd
export AWS_ACCESS_KEY_ID=$TRASHD_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TRASHD_TEST_S3_SECRET_KEY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

s3api() { /usr/bin/aws --endpoint-url "$TRASHD_S3_ENDPOINT" s3api "$@"; }
# Counts Contents over every page: SeaweedFS leaves KeyCount out, and with
# --output text the CLI would apply the query to each page on its own.
# shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
count_objects() { s3api list-objects-v2 --bucket "$1" --query 'length(Contents || `[]`)' --output json; }
sql() { mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot --default-character-set=utf8mb4 -N -B "$@"; }

# --- a fresh LMS ---------------------------------------------------------------
say "recreating database $database and buckets $source_bucket, $trash_bucket, $inventory_bucket"
sql -e "DROP DATABASE IF EXISTS \`$database\`; CREATE DATABASE \`$database\` CHARACTER SET utf8mb4"
for b in "$source_bucket" "$trash_bucket" "$inventory_bucket"; do
	if s3api head-bucket --bucket "$b" >/dev/null 2>&1; then
		/usr/bin/aws --endpoint-url "$TRASHD_S3_ENDPOINT" s3 rb "s3://$b" --force >/dev/null
	fi
done
s3api create-bucket --bucket "$trash_bucket" >/dev/null
s3api create-bucket --bucket "$inventory_bucket" >/dev/null

say "seeding the LMS"
"$dev/bin/seed" -database "$database" -table files -bucket "$source_bucket" -reset \
	-n 3000 -min-size 1KiB -max-size 256KiB -trash-fraction 0.33 \
	-awkward -large 24MiB -missing "$missing"

# --- one pass --------------------------------------------------------------------
bin/trashd migrate >/dev/null 2>"$dev/demo-migrate.log" || {
	say "trashd migrate failed:"
	cat "$dev/demo-migrate.log" >&2
	exit 1
}
echo
echo "\$ trashd lifecycle"
bin/trashd lifecycle || true
echo
echo "\$ trashd lifecycle --apply"
bin/trashd lifecycle --apply
log=$dev/demo-reconcile.log
out=$dev/demo-reconcile.out
echo
echo "\$ trashd reconcile --allow-mass-change        (JSON logs in ${log#"$PWD"/})"
rc=0
# The seeded LMS has a third of its rows trashed, as an LMS trashd first meets
# has years of trash: the first pass is let through the mass-change brake.
bin/trashd reconcile --allow-mass-change >"$out" 2>"$log" || rc=$?
# Its summary; the state table it prints next is the one trashd status shows below.
awk 'NF == 0 { exit } { print }' "$out"
echo "(exit status $rc)"

warnings=$(grep -E '"level":"(WARN|ERROR)"' "$log" || true)
if [ -n "$warnings" ]; then
	echo
	echo "last warnings and errors in the log ($(grep -c . <<<"$warnings") in all):"
	tail -n 6 <<<"$warnings" |
		jq -r '"  \(.level) \(.msg)" + ([to_entries[] | select(.key | IN("time", "level", "msg", "run_id") | not) | " \(.key)=\(.value | tostring)"] | join(""))' |
		cut -c1-260
fi

echo
echo "\$ trashd status"
bin/trashd status

# --- check -------------------------------------------------------------------------
mark() { if [ "$1" = "$2" ]; then echo "ok"; else echo "MISMATCH"; fi; }
read -r total trashed < <(sql -e "SELECT COUNT(*), COALESCE(SUM(trashed <> 0), 0) FROM \`$database\`.files")
in_source=$(count_objects "$source_bucket")
in_trash=$(count_objects "$trash_bucket")
kept=$((total - trashed))
expect_trash=$((trashed - missing))
# Trash keys are "{id}/{key}" (the key hashed when the result would pass 1,024 bytes).
trash_ids=$(s3api list-objects-v2 --bucket "$trash_bucket" --query 'Contents[].Key' --output json | jq -r '.[]?' | sed 's|/.*||' | sort)
awkward_ids=$(sql -e "SELECT id FROM \`$database\`.files WHERE s3_key LIKE 'awkward/%'" | sort)
awkward_moved=$(comm -12 <(echo "$trash_ids") <(echo "$awkward_ids") | grep -c . || true)
awkward_total=$(grep -c . <<<"$awkward_ids" || true)
read -r large_id large_key < <(sql -e "SELECT id, s3_key FROM \`$database\`.files WHERE size > 8 * 1024 * 1024 ORDER BY id LIMIT 1")
head=$(s3api head-object --bucket "$trash_bucket" --key "$large_id/$large_key" --output json 2>/dev/null || echo '{}')
tags=$(s3api get-object-tagging --bucket "$trash_bucket" --key "$large_id/$large_key" --output json 2>/dev/null |
	jq -r '.TagSet | length' || echo 0)
large=$(jq -r 'if .ETag then "\(.ContentLength) bytes, ETag \(.ETag), \(.ContentType), \(.Metadata | length) metadata keys" else "absent" end' <<<"$head")
# Seeded in 5 MiB parts with a content type, 3 metadata keys and 2 tags; a
# faithful part-by-part copy keeps the multipart ETag ("…-5") and all of it.
large_ok=$(jq -r '(.ETag // "" | test("-[0-9]+\"$")) and .ContentType == "video/mp4" and (.Metadata | length) == 3' <<<"$head")

echo
echo "check, by listing both buckets:"
printf '  %-10s %5d objects; rows not trashed: %d  %s\n' "$source_bucket" "$in_source" "$kept" "$(mark "$in_source" "$kept")"
printf '  %-10s %5d objects; trashed rows: %d, less %d seeded without an object: %d  %s\n' \
	"$trash_bucket" "$in_trash" "$trashed" "$missing" "$expect_trash" "$(mark "$in_trash" "$expect_trash")"
printf '  awkward keys in the trash: %d of %d  %s\n' "$awkward_moved" "$awkward_total" "$(mark "$awkward_moved" "$awkward_total")"
printf '  multipart object in the trash: %s, %s tags  %s\n' "$large" "$tags" "$(mark "$large_ok/$tags" "true/2")"

# --- Glacier: transitions, a restore, the cost ----------------------------------------
day_s=${day_length%s}
echo
say "waiting two lifecycle days ($((2 * day_s))s) for S3 to transition the trash"
sleep $((2 * day_s + 1))
echo "\$ trashd reconcile        (confirms transitions from the newest inventory report, HEAD only for what it cannot)"
bin/trashd reconcile 2>>"$log" | awk 'NF == 0 { exit } { print }' || true
# The log holds trashd's own lines beside its JSON records: jq reads each
# line as text and parses only those that are JSON.
confirmed=$(jq -rR 'fromjson? | select(.msg == "transitions confirmed from the inventory report") | "\(.archived) \(.to_head) \(.rows) \(.run_id)"' "$log" | tail -n 1)
read -r inv_archived inv_heads inv_rows inv_run <<<"${confirmed:-0 0 0 0}"
# The HEADs of that same pass's transition checks (none when the report
# confirmed everything).
heads=$(jq -rR --argjson run "${inv_run:-0}" 'fromjson? | select(.msg == "transitions checked" and .run_id == $run) | .checked' "$log" | tail -n 1)
printf '  from the inventory report (%s rows): %s archived without a request, %s left to HEAD (HEADs sent: %s)  %s\n' \
	"$inv_rows" "$inv_archived" "$inv_heads" "${heads:-0}" "$(mark "$([ "${inv_archived:-0}" -gt 0 ] && echo yes)" yes)"
echo "\$ trashd status | grep inventory"
bin/trashd status 2>/dev/null | grep -A0 '^inventory' || true
restore_id= restore_key=
read -r restore_id restore_key < <(sql -e "SELECT lms_id, source_key FROM \`$database\`.trash_objects WHERE state = 'archived' ORDER BY lms_id LIMIT 1") || true
if [ -n "${restore_id:-}" ]; then
	echo
	say "the LMS restores row $restore_id ($restore_key) from its trash: the flag is cleared"
	sql -e "UPDATE \`$database\`.files SET trashed = 0 WHERE id = $restore_id"
	for pass in 1 2 3 4 5 6 7 8 9 10; do
		echo "\$ trashd reconcile        (pass $pass)"
		bin/trashd reconcile 2>>"$log" | awk 'NF == 0 { exit } { print }' || true
		state=$(sql -e "SELECT state FROM \`$database\`.trash_objects WHERE lms_id = $restore_id")
		echo "  row $restore_id is $state"
		[ "$state" = restored ] && break
		sleep "$day_s"
	done
	back=$(s3api head-object --bucket "$source_bucket" --key "$restore_key" --query '[ContentLength, StorageClass]' --output text 2>/dev/null || echo absent)
	echo "  s3://$source_bucket/$restore_key: $back  $(mark "$state" restored)"
fi
echo
echo "\$ trashd status --cost"
bin/trashd status --cost

case $rc in
0 | 3) exit 0 ;;
*)
	say "trashd reconcile exited $rc; the end of its log:"
	tail -n 20 "$log" >&2
	exit 1
	;;
esac
