#!/bin/sh
# install.sh — install Pulse as a systemd service. Idempotent: run it again
# to upgrade; an existing /etc/pulse/pulse.yaml is never overwritten.
#
#   scripts/install.sh                      build from this checkout and install
#   scripts/install.sh --binary ./pulse     install a binary built elsewhere
#   DESTDIR=/tmp/root scripts/install.sh --no-system   stage files only
#
# Environment: PREFIX (default /usr/local) for the binary, DESTDIR (default
# empty) prepended to every path, VERSION (default: git describe) stamped
# into a build. --no-system skips creating the user and reloading systemd,
# as packaging and tests want; so does a non-empty DESTDIR.
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
binary=
system=yes

usage() {
	sed -n '2,13s/^# \{0,1\}//p' "$0"
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--binary) [ $# -ge 2 ] || usage; binary=$2; shift 2 ;;
	--binary=*) binary=${1#--binary=}; shift ;;
	--no-system) system=no; shift ;;
	-h | --help) usage 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; usage ;;
	esac
done
if [ -n "$DESTDIR" ]; then
	system=no
fi

root=$(cd "$(dirname "$0")/.." && pwd)
bindir=$PREFIX/bin
unitdir=/etc/systemd/system
confdir=/etc/pulse

say() { echo "install.sh: $*"; }

# 1. The binary: built here unless given.
if [ -z "$binary" ]; then
	version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	say "building pulse $version"
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$tmp/pulse" ./cmd/pulse)
	binary=$tmp/pulse
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 1; }
install -d -m 0755 "$DESTDIR$bindir"
# Through a temporary name and a rename: a running agent keeps its old
# binary until it restarts.
install -m 0755 "$binary" "$DESTDIR$bindir/.pulse.new"
mv -f "$DESTDIR$bindir/.pulse.new" "$DESTDIR$bindir/pulse"
say "installed $DESTDIR$bindir/pulse"

# 2. The user the service runs as, in the group that may read /var/log.
if [ "$system" = yes ]; then
	if ! getent group pulse >/dev/null; then
		groupadd --system pulse
		say "created group pulse"
	fi
	if ! getent passwd pulse >/dev/null; then
		useradd --system --gid pulse --home-dir /var/lib/pulse --no-create-home \
			--shell /usr/sbin/nologin --comment "Pulse log forwarding" pulse
		say "created user pulse"
	fi
	if getent group adm >/dev/null && ! id -nG pulse | tr ' ' '\n' | grep -qx adm; then
		usermod -a -G adm pulse
		say "added pulse to group adm (to read /var/log)"
	fi
fi

# 3. The units, pointing at the binary installed.
install -d -m 0755 "$DESTDIR$unitdir"
for unit in pulse.service pulse-merger@.service; do
	sed "s|/usr/local/bin/pulse|$bindir/pulse|g" "$root/deploy/$unit" >"$DESTDIR$unitdir/.$unit.new"
	chmod 0644 "$DESTDIR$unitdir/.$unit.new"
	mv -f "$DESTDIR$unitdir/.$unit.new" "$DESTDIR$unitdir/$unit"
	say "installed $DESTDIR$unitdir/$unit"
done

# 4. The config, only if there is none: it is the operator's from now on.
install -d -m 0755 "$DESTDIR$confdir"
if [ -e "$DESTDIR$confdir/pulse.yaml" ]; then
	say "kept $DESTDIR$confdir/pulse.yaml"
else
	install -m 0640 "$root/deploy/pulse.yaml" "$DESTDIR$confdir/pulse.yaml"
	if [ "$system" = yes ]; then
		chgrp pulse "$DESTDIR$confdir/pulse.yaml"
	fi
	say "installed $DESTDIR$confdir/pulse.yaml (edit the endpoints)"
fi

# 5. Tell systemd, if it runs this machine.
if [ "$system" = yes ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	say "systemd reloaded; start with: systemctl enable --now pulse"
fi
