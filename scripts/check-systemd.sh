#!/usr/bin/env bash
# Checks systemd/trashd.service without installing it, as `make test` does:
#   1. `systemd-analyze verify`: the unit parses, every directive is known and
#      valid, ExecStart names an executable. verify insists that the binary
#      exists, and only that (it does not run it), so it checks a copy of the
#      unit in a temp dir in which /usr/local/bin/trashd (and nothing else) is
#      replaced by a stand-in executable in that temp dir, or by $TRASHD_BIN;
#      the script shows that diff. Any warning about the unit fails the check,
#      because verify itself exits 0 on unknown keys and bad values.
#   2. `systemd-analyze security --offline=true` on the unit as committed: the
#      overall exposure must be at most $TRASHD_SECURITY_LIMIT (default 1.5).
#   3. systemd/iam-policy.json is valid JSON.
# No running systemd is needed (containers do not run it as PID 1). Debian's
# systemd and jq packages are installed if systemd-analyze or jq is missing.
# Nothing is built or installed; the check needs no Go and no running servers.
set -euo pipefail
cd "$(dirname "$0")/.."

unit=systemd/trashd.service
installed_bin=/usr/local/bin/trashd
limit=${TRASHD_SECURITY_LIMIT:-1.5}

log() { echo "check-systemd: $*" >&2; }
fail() {
	log "$*"
	exit 1
}
indent() { sed 's/^/    /'; }
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v jq >/dev/null || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian's ${missing[*]} (for systemd-analyze and jq)"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
log "$(systemd-analyze --version | head -n1)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- verify ----------------------------------------------------------------------
bin=${TRASHD_BIN:-}
if [ -z "$bin" ]; then
	bin=$tmp/trashd
	printf '#!/bin/sh\n# stand-in for trashd: systemd-analyze verify only checks that it is executable\nexit 1\n' >"$bin"
	chmod 0755 "$bin"
fi
[ -x "$bin" ] || fail "$bin is not an executable"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
case $bin in *[[:space:]]*) fail "the binary's path must not contain spaces: $bin" ;; esac

grep -q "^ExecStart=$installed_bin " "$unit" || fail "$unit: ExecStart does not run $installed_bin"
mkdir "$tmp/unit"
sed "s#$installed_bin#$bin#g" "$unit" >"$tmp/unit/trashd.service"
log "verify checks a copy of $unit with this change only:"
diff "$unit" "$tmp/unit/trashd.service" | indent >&2 || true

verify_rc=0
verify_out=$(systemd-analyze verify "$tmp/unit/trashd.service" 2>&1) || verify_rc=$?
# Lines about other units (e.g. a container's missing targets) are shown but
# do not count; any line about trashd.service does.
if [ -n "$verify_out" ]; then
	indent <<<"$verify_out" >&2
fi
if [ "$verify_rc" != 0 ] || grep -q 'trashd\.service' <<<"$verify_out"; then
	fail "systemd-analyze verify: $unit has problems (exit $verify_rc, see above)"
fi

# --- security --------------------------------------------------------------------
security_out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) ||
	{
		echo "$security_out" >&2
		fail "systemd-analyze security failed"
	}
grep -Ev '^(✓|\+) ' <<<"$security_out" >&2 || true # the findings that cost exposure, and the total
if grep -q 'trashd\.service:[0-9]' <<<"$security_out"; then
	fail "systemd-analyze security warned about $unit (see above)"
fi
score=$(sed -n 's/.*Overall exposure level for trashd\.service: \([0-9][0-9]*\.[0-9]\).*/\1/p' <<<"$security_out")
[ -n "$score" ] || fail "could not find the overall exposure level in systemd-analyze's output"
if ! awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s <= l) }'; then
	fail "security exposure $score is above the limit $limit"
fi

# --- IAM policy ------------------------------------------------------------------
policy=systemd/iam-policy.json
jq empty "$policy" || fail "$policy is not valid JSON"

echo "systemd: verify ok, security exposure $score (limit $limit)"
