#!/usr/bin/env bash
# Prints the path of a promtool binary, fetching it on first use.
#
# promtool ships in Debian's prometheus package together with the server;
# the package is downloaded and unpacked, never installed, so that checking
# the alert rules starts no Prometheus and needs no dpkg database change.
# The binary is cached (TRASHD_PROMTOOL_CACHE, default
# ~/.cache/trashd/promtool) and reused; PROMTOOL=/path skips all of it.
set -euo pipefail

if [[ -n "${PROMTOOL:-}" ]]; then
	[[ -x "$PROMTOOL" ]] || { echo "promtool.sh: PROMTOOL=$PROMTOOL is not an executable" >&2; exit 1; }
	echo "$PROMTOOL"
	exit 0
fi

home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache="${TRASHD_PROMTOOL_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/trashd/promtool}"
bin="$cache/usr/bin/promtool"
if [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi

fail() {
	cat >&2 <<MSG
promtool.sh: $1
  promtool comes from Debian's (or Ubuntu's) prometheus package. Either
  - let this script fetch it: it runs 'apt-get download prometheus' (and 'apt-get update'
    as root when the package lists are missing), which needs apt and network access; or
  - install promtool yourself (apt-get install prometheus, or a release from
    https://prometheus.io/download/) and run with PROMTOOL=/path/to/promtool.
MSG
	exit 1
}

command -v apt-get >/dev/null || fail "apt-get is not available on this machine"
command -v dpkg-deb >/dev/null || fail "dpkg-deb is not available on this machine"

mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

download() { (cd "$work" && apt-get download prometheus) >"$work/apt.log" 2>&1; }
if ! download; then
	# A fresh machine (a CI container) often has no package lists yet.
	if [[ $(id -u) -eq 0 ]]; then
		echo "promtool.sh: apt-get download failed; running apt-get update first" >&2
		apt-get update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; fail "apt-get update failed"; }
		download || { cat "$work/apt.log" >&2; fail "apt-get download prometheus failed after apt-get update"; }
	else
		cat "$work/apt.log" >&2
		fail "apt-get download prometheus failed (run 'sudo apt-get update' if the package lists are missing)"
	fi
fi

deb=$(ls "$work"/prometheus_*.deb 2>/dev/null | head -n1)
[[ -n "$deb" ]] || fail "apt-get download left no prometheus_*.deb"
dpkg-deb -x "$deb" "$work/root" || fail "dpkg-deb -x $deb failed"
[[ -x "$work/root/usr/bin/promtool" ]] || fail "$deb has no usr/bin/promtool"

# Keep promtool alone: the server and its web assets are of no use here.
# The rename makes a concurrent run see either no binary or a whole one.
mkdir -p "$cache/usr/bin"
mv "$work/root/usr/bin/promtool" "$cache/usr/bin/.promtool.$$"
mv -f "$cache/usr/bin/.promtool.$$" "$bin"
"$bin" --version >/dev/null 2>&1 || fail "the unpacked $bin does not run"
echo "$bin"
