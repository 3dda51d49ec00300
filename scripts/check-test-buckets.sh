#!/usr/bin/env bash
# Runs `go test` with the arguments given (packages and flags) and fails if
# the run left buckets behind on the dev SeaweedFS: every test that makes a
# bucket must remove it (s3test.NewBucket does, in t.Cleanup), since each
# bucket takes volumes and the server has few.
#
#   scripts/check-test-buckets.sh ./reconcile/ -run TestArchive -count=2
#
# The run's buckets carry a tag of their own (TRASHD_TEST_BUCKET_TAG, put
# first in every s3test.BucketName), so that buckets of other runs on the
# shared server, made or removed meanwhile, count for nothing: after the
# run, no bucket with the tag may be left. The totals before and after are
# printed for information. Settings from .dev/env (dev-up's) when present.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
	echo "usage: scripts/check-test-buckets.sh PACKAGES [go test flags]" >&2
	exit 2
fi
if [ -f .dev/env ] && [ -z "${TRASHD_TEST_S3_ENDPOINT:-}" ]; then
	# shellcheck disable=SC1091
	. .dev/env
fi
endpoint=${TRASHD_TEST_S3_ENDPOINT:-http://127.0.0.1:8333}
access_key=${TRASHD_TEST_S3_ACCESS_KEY:-trashd-dev}
secret_key=${TRASHD_TEST_S3_SECRET_KEY:-trashd-dev-secret}

log() { echo "check-test-buckets: $*" >&2; }

# buckets lists the server's buckets, one a line.
buckets() {
	local out
	if ! out=$(curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access_key:$secret_key" "$endpoint/"); then
		log "cannot list the buckets at $endpoint (run scripts/dev-up.sh)"
		exit 1
	fi
	grep -o '<Name>[^<]*</Name>' <<<"$out" | sed 's/<[^>]*>//g' || true
}

# A tag that starts with a letter and is new on the server.
tag=leak$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
before=$(buckets)
if grep -q "^$tag-" <<<"$before"; then
	log "tag $tag is already in use; run again"
	exit 1
fi

rc=0
TRASHD_TEST_BUCKET_TAG=$tag go test "$@" || rc=$?

after=$(buckets)
left=$(grep "^$tag-" <<<"$after" || true)
log "buckets on the server: $(grep -c . <<<"$before" || true) before, $(grep -c . <<<"$after" || true) after (other runs share it); this run's left: $(grep -c . <<<"$left" || true)"
if [ -n "$left" ]; then
	log "FAIL: the run left these buckets behind (a test that makes a bucket must remove it in t.Cleanup):"
	sed 's/^/  /' <<<"$left" >&2
	exit 1
fi
exit "$rc"
