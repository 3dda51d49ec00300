#!/usr/bin/env bash
# Installs trashd as a systemd service:
#   $PREFIX/bin/trashd                  the binary (bin/trashd; `make build` first if it is missing)
#   /etc/systemd/system/trashd.service  the unit (replaced on every install: local changes belong
#                                       in a drop-in, `systemctl edit trashd`)
#   /etc/trashd/                        created 0750 if absent
#   /etc/trashd/trashd.env              from systemd/trashd.env.example, only if absent: an
#                                       operator's file is never overwritten
# It creates no user (the unit uses DynamicUser=), writes no secret, and starts nothing; it prints
# what to do next. Safe to run again. Run it as root, or with DESTDIR for a package or a test:
#   scripts/install.sh [--prefix DIR] [--unitdir DIR] [--bin FILE] [--build]
#   DESTDIR=/tmp/pkg scripts/install.sh     (or --destdir DIR)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	cat <<'EOF'
usage: scripts/install.sh [options]

  --prefix DIR    install the binary as DIR/bin/trashd (default /usr/local); the unit's
                  ExecStart is rewritten to match when DIR is not /usr/local
  --unitdir DIR   install the unit into DIR (default /etc/systemd/system; a package
                  would use /usr/lib/systemd/system)
  --destdir DIR   stage everything under DIR (also: DESTDIR=DIR); nothing outside it is touched
  --bin FILE      the binary to install (default bin/trashd, built with `make build` if missing)
  --build         rebuild bin/trashd with `make build` first
  -h, --help      this help
EOF
}

prefix=/usr/local
unitdir=/etc/systemd/system
destdir=${DESTDIR:-}
bin=
build=false
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
	--prefix=*) prefix=${1#*=}; shift ;;
	--unitdir) unitdir=${2:?--unitdir needs a directory}; shift 2 ;;
	--unitdir=*) unitdir=${1#*=}; shift ;;
	--destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
	--destdir=*) destdir=${1#*=}; shift ;;
	--bin) bin=${2:?--bin needs a file}; shift 2 ;;
	--bin=*) bin=${1#*=}; shift ;;
	--build) build=true; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done

log() { echo "install: $*"; }
fail() {
	echo "install: $*" >&2
	exit 1
}

case $prefix in /*) ;; *) fail "--prefix must be an absolute path: $prefix" ;; esac
case $unitdir in /*) ;; *) fail "--unitdir must be an absolute path: $unitdir" ;; esac
prefix=${prefix%/}
unitdir=${unitdir%/}
if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then
	fail "run as root, or set DESTDIR (or --destdir) to stage the files elsewhere"
fi

sysconfdir=/etc/trashd
default_bin=/usr/local/bin/trashd
target_bin=$prefix/bin/trashd

# --- the binary ---------------------------------------------------------------------
if [ -z "$bin" ]; then
	bin=bin/trashd
	if $build || [ ! -x "$bin" ]; then
		if command -v make >/dev/null; then
			make build
		else
			command -v go >/dev/null || fail "$bin is missing and neither make nor go is installed to build it"
			go build -o "$bin" ./cmd/trashd
		fi
	fi
fi
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
	fail "$bin is not an executable file"
fi
version=$("$bin" version 2>/dev/null) || fail "$bin does not run (\`$bin version\` failed): is it built for this machine?"

# install_file MODE SRC DEST: copies SRC to DEST through a temporary file and a
# rename, so that a running trashd keeps its old binary and nothing is ever
# half written. Says whether DEST changed.
install_file() {
	local mode=$1 src=$2 dest=$3
	mkdir -p "$(dirname "$dest")"
	if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
		chmod "$mode" "$dest"
		log "unchanged  $dest"
		return
	fi
	local tmp
	tmp=$(mktemp "$dest.XXXXXX")
	cp "$src" "$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$dest"
	log "installed  $dest"
}

install_file 0755 "$bin" "$destdir$target_bin"
log "           ($version)"

# --- the unit -----------------------------------------------------------------------
unit_src=systemd/trashd.service
if [ "$target_bin" != "$default_bin" ]; then
	rewritten=$(mktemp)
	trap 'rm -f "$rewritten"' EXIT
	sed "s#$default_bin#$target_bin#g" "$unit_src" >"$rewritten"
	unit_src=$rewritten
	log "the unit's ExecStart is rewritten from $default_bin to $target_bin"
fi
unit_before=
[ -f "$destdir$unitdir/trashd.service" ] && unit_before=$(cat "$destdir$unitdir/trashd.service")
install_file 0644 "$unit_src" "$destdir$unitdir/trashd.service"
unit_changed=false
[ "$unit_before" = "$(cat "$destdir$unitdir/trashd.service")" ] || unit_changed=true

# --- configuration ------------------------------------------------------------------
if [ -d "$destdir$sysconfdir" ]; then
	log "exists     $destdir$sysconfdir"
else
	mkdir -p "$(dirname "$destdir$sysconfdir")"
	mkdir -m 0750 "$destdir$sysconfdir"
	log "created    $destdir$sysconfdir (0750)"
fi
env_file=$destdir$sysconfdir/trashd.env
if [ -e "$env_file" ]; then
	log "kept       $env_file (yours; new settings: diff it against systemd/trashd.env.example)"
else
	install_file 0600 systemd/trashd.env.example "$env_file"
fi
password_file=$destdir$sysconfdir/mysql-password

# --- what next ----------------------------------------------------------------------
if [ -n "$destdir" ]; then
	log "staged under $destdir; nothing outside it was touched"
	exit 0
fi

steps=()
if [ ! -f "$password_file" ]; then
	steps+=("put the MySQL password in $sysconfdir/mysql-password, readable by root only:
       install -m 0600 /dev/null $sysconfdir/mysql-password && \$EDITOR $sysconfdir/mysql-password")
elif [ -n "$(find "$password_file" -perm /077)" ]; then
	steps+=("$sysconfdir/mysql-password is readable by others than root: chmod 0600 $sysconfdir/mysql-password")
fi
if grep -q '^TRASHD_TRASH_BUCKET=$' "$env_file"; then
	steps+=("set at least TRASHD_TRASH_BUCKET and TRASHD_SOURCE_BUCKET (and MySQL, S3) in $sysconfdir/trashd.env")
fi
steps+=("give the service AWS credentials with the permissions in systemd/iam-policy.json (docs/operations.md)")
steps+=("create or upgrade trashd's tables, once per install or upgrade, from one host:
       sudo sh -c 'set -a; . $sysconfdir/trashd.env; set +a; TRASHD_MYSQL_PASSWORD_FILE=$sysconfdir/mysql-password exec $target_bin migrate'")
if $unit_changed; then
	steps+=("systemctl daemon-reload && systemctl enable --now trashd   (already running: systemctl restart trashd)")
else
	steps+=("systemctl enable --now trashd   (already running after an upgrade: systemctl restart trashd)")
fi
steps+=("check it: systemctl status trashd; journalctl -u trashd -o cat | jq .; sudo $target_bin trigger --wait")

echo
echo "Next steps (docs/operations.md explains each):"
i=1
for s in "${steps[@]}"; do
	echo "  $i. $s"
	i=$((i + 1))
done
