#!/usr/bin/env bash
# Builds versitygw (an S3-compatible server some tests run against, with its
# posix backend) once and caches the binary beside SeaweedFS's. The tests
# start it themselves (s3ops/s3test); dev-up builds it so that they need not.
# Prints the path of the binary.
set -euo pipefail

VERSITYGW_VERSION=${VERSITYGW_VERSION:-v1.8.0}
cache=${TRASHD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trashd}
bin="$cache/versitygw-$VERSITYGW_VERSION"

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
# A directory of this build's own, so that two builds at once (two
# checkouts' tests) each move a whole binary into place.
gobin=$(mktemp -d "$cache/versitygw-build.XXXXXX")
trap 'rm -rf "$gobin"' EXIT
echo "build-versitygw: building versitygw $VERSITYGW_VERSION (a minute or two, once)" >&2
if ! GOBIN="$gobin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"; then
	echo "build-versitygw: could not build github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION from the Go module proxy" >&2
	exit 1
fi
mv "$gobin/versitygw" "$bin"
echo "$bin"
