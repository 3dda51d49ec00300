#!/usr/bin/env bash
# Builds SeaweedFS (the S3-compatible server used by tests, the demo and the
# benchmark) once and caches the binary. `go install` refuses the module because
# its go.mod has a replace directive, so it is built from the module cache.
# Prints the path of the binary.
set -euo pipefail

WEED_VERSION=${WEED_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}
cache=${TRASHD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trashd}
bin="$cache/weed-$WEED_VERSION"

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "build-weed: could not download github.com/seaweedfs/seaweedfs@$WEED_VERSION through the Go module proxy" >&2
	exit 1
fi
echo "build-weed: building SeaweedFS $WEED_VERSION (a few minutes, once)" >&2
(cd "$dir" && GOFLAGS=-mod=mod go build -o "$bin.tmp" ./weed)
mv "$bin.tmp" "$bin"
echo "$bin"
