#!/usr/bin/env bash
# Installs the peers bench/compare.sh runs Pulse beside, on Debian: rsyslog
# as a package, and syslog-ng unpacked into a directory of its own (default
# /opt/syslog-ng) — the two packages conflict, and the syslog tests need
# rsyslog. Idempotent; needs root (apt). Then:
#   bench/compare.sh -syslog-ng-root /opt/syslog-ng
set -euo pipefail
root=${1:-/opt/syslog-ng}
die() {
	printf 'install-peers.sh: %s\n' "$*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (apt-get)"
command -v apt-get >/dev/null || die "apt-get not found: install rsyslog and syslog-ng by hand (bench/README.md)"

export DEBIAN_FRONTEND=noninteractive
# syslog-ng-core's libraries, which unpacking does not bring.
apt-get install -y -q rsyslog libivykis0 libnet1 libpcre3 libwrap0 >/dev/null ||
	die "apt-get install rsyslog and syslog-ng's libraries failed"
if [ ! -x "$root/usr/sbin/syslog-ng" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	chmod 755 "$tmp" # apt downloads as _apt
	(cd "$tmp" && apt-get download -q syslog-ng-core >/dev/null) || die "apt-get download syslog-ng-core failed"
	mkdir -p "$root"
	dpkg-deb -x "$tmp"/syslog-ng-core_*.deb "$root"
fi
LD_LIBRARY_PATH=$root/usr/lib/syslog-ng "$root/usr/sbin/syslog-ng" --version | head -n 1 ||
	die "the unpacked syslog-ng in $root does not run"
rsyslogd -v | head -n 1
echo "run: bench/compare.sh -syslog-ng-root $root"
