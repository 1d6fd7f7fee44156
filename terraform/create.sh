#!/usr/bin/env bash
# create.sh — create the Pulse chain environment and print how to reach it.
#
#   ./create.sh [terraform apply flags]    e.g. ./create.sh -var chain_length=6 -var fanout=true
#
# Needs AWS credentials in the environment (README.md). Pulse comes from, in
# order: PULSE_RELEASE_URL (every instance downloads it), PULSE_BINARY (a
# linux binary uploaded over SSH), or a build of this checkout for ARCH
# (x86_64 or arm64, default x86_64) that is uploaded. SSH is allowed from
# ALLOWED_SSH_CIDR, default this machine's public address. Both choices go to
# generated.auto.tfvars, which terraform reads on every later run
# (destroy.sh too). TERRAFORM names the terraform binary.
set -euo pipefail
cd "$(dirname "$0")"
TERRAFORM=${TERRAFORM:-terraform}
ARCH=${ARCH:-x86_64}

say() { printf 'create.sh: %s\n' "$*" >&2; }

case $ARCH in
x86_64) goarch=amd64 ;;
arm64) goarch=arm64 ;;
*)
	say "ARCH=$ARCH: want x86_64 or arm64"
	exit 2
	;;
esac

if [ -z "${ALLOWED_SSH_CIDR:-}" ]; then
	ip=$(curl -fsS --max-time 10 https://checkip.amazonaws.com) || {
		say "cannot find this machine's public address: set ALLOWED_SSH_CIDR"
		exit 1
	}
	ALLOWED_SSH_CIDR=$ip/32
fi

if [ -n "${PULSE_RELEASE_URL:-}" ]; then
	source_line="pulse_release_url = \"$PULSE_RELEASE_URL\""
else
	if [ -z "${PULSE_BINARY:-}" ]; then
		PULSE_BINARY=$PWD/.build/pulse-linux-$goarch
		say "building pulse for linux/$goarch"
		(cd .. && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath \
			-ldflags "-s -w -X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)" \
			-o "$PULSE_BINARY" ./cmd/pulse)
	fi
	[ -f "$PULSE_BINARY" ] || {
		say "PULSE_BINARY=$PULSE_BINARY: no such file"
		exit 1
	}
	source_line="pulse_binary_path = \"$(cd "$(dirname "$PULSE_BINARY")" && pwd)/$(basename "$PULSE_BINARY")\""
fi

cat >generated.auto.tfvars <<TFVARS
# Written by create.sh; read by every terraform run in this directory.
allowed_ssh_cidr = "$ALLOWED_SSH_CIDR"
architecture     = "$ARCH"
$source_line
TFVARS

"$TERRAFORM" init -input=false
"$TERRAFORM" apply -input=false -auto-approve "$@"

echo
"$TERRAFORM" output -raw summary
echo
echo
"$TERRAFORM" output -raw cssh
echo
echo
echo "SSH in as ec2-user; on every instance: instanceid, lsevents (-watch)."
echo "Bootstrap log: /var/log/pulse-bootstrap.log. Tear down: ./destroy.sh"
