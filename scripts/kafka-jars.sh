#!/usr/bin/env bash
# Fetches the jars of a real Apache Kafka broker for testenv.StartKafka: the
# dependencies listed in testenv/kafka/pom.xml (kafka_2.13 and a log4j2
# binding), copied by Maven into a libs directory. The jars themselves are
# cached in the user's Maven repository (~/.m2), so a second machine-local
# run downloads nothing.
#
# The libs directory is $PULSE_KAFKA_LIBS, by default
# ~/.cache/pulse/kafka-<version>/libs; testenv looks in the same place.
# Idempotent: when the directory is complete (its .complete marker names the
# pom it came from) the script does nothing. Prints the directory.
#
# Needs java (17 or newer: Kafka 4.x brokers) and mvn; scripts/test.sh calls
# it before the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pom="$root/testenv/kafka/pom.xml"

die() {
	echo "kafka-jars.sh: $*" >&2
	exit 1
}

version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
[ -n "$version" ] || die "no <kafka.version> in $pom"
libs="${PULSE_KAFKA_LIBS:-$HOME/.cache/pulse/kafka-$version/libs}"

# The marker holds the pom's checksum: a changed dependency list fetches
# again, an unchanged one is left alone.
sum=$(sha256sum "$pom" | cut -d' ' -f1)
if [ -f "$libs/.complete" ] && [ "$(cat "$libs/.complete")" = "$sum" ]; then
	echo "$libs"
	exit 0
fi

command -v mvn >/dev/null ||
	die "mvn not found: install Maven (apt-get install -y maven) to fetch the Kafka broker's jars"
java="java"
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
	java="$JAVA_HOME/bin/java"
fi
command -v "$java" >/dev/null ||
	die "java not found: Kafka $version needs Java 17 or newer (apt-get install -y openjdk-17-jre-headless)"
# "openjdk version "17.0.15" ..." or "... "1.8.0_392" ...": the major version.
major=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n1)
if [ -z "$major" ] || [ "$major" -lt 17 ]; then
	die "$java is Java ${major:-of unknown version}: Kafka $version needs 17 or newer (set JAVA_HOME)"
fi

# Copy into a fresh directory beside the target, then swap it in: an
# interrupted run leaves no half-filled libs directory behind the marker.
parent=$(dirname "$libs")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.libs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
echo "kafka-jars.sh: fetching Kafka $version's jars into $libs" >&2
# Maven's output is shown only when it fails (-q still prints colour codes).
if ! out=$(mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1); then
	printf '%s\n' "$out" >&2
	die "mvn dependency:copy-dependencies failed (above)"
fi
[ -f "$tmp/kafka_2.13-$version.jar" ] || die "mvn copied no kafka_2.13-$version.jar into $tmp"
printf '%s\n' "$sum" >"$tmp/.complete"
rm -rf "$libs"
mv "$tmp" "$libs"
trap - EXIT
echo "$libs"
