#!/usr/bin/env bash
# The README's test command, and exactly what CI runs (.ci/run): on a fresh
# Debian machine with only Go installed it installs the tools the tests
# drive (apt-get, as root or through sudo), then runs go vet, staticcheck,
# the race-enabled tests, and the allocation tests the race detector
# cannot run. Arguments go to both go test runs (e.g. -short, -run X).
#
# CI=1 is set for the tests: one that needs a tool fails, naming the tool
# and its package (testenv.NeedTool), instead of skipping — so a test that
# did not run cannot pass unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tools the tests drive: "command package", one a line, with the tests
# that need it. A test needing a new tool adds its line here and calls
# testenv.NeedTool(t, command, package).
tools=(
	"systemd-analyze systemd" # deploy TestSystemdAnalyzeVerify/Security; terraform TestBootstrap (rendered units)
	"rsyslogd rsyslog"        # inputs TestSyslogRsyslogForwarding
	"logger bsdutils"         # inputs TestSyslogLoggerClient; e2e TestSyslogAndLogplexIntoAgent
	"etcd etcd-server"        # terraform TestBootstrap, TestBootstrapFails (a real local etcd)
	"etcdctl etcd-client"     # terraform TestBootstrap, TestBootstrapFails (incl. etcd_unreachable)
	"shellcheck shellcheck"   # terraform TestScriptsShellcheck, TestUserDataRenders, TestEtcdUserDataRenders; deploy TestRepoScriptsShellcheck
	"ip iproute2"             # testenv.NetHost: e2e TestHostCutOff (network namespaces, as root)
	"java default-jre-headless" # scripts/kafka-jars.sh and testenv.StartKafka: the broker runs on a JVM (Debian 12: Java 17)
	"mvn maven"                 # scripts/kafka-jars.sh fetches Apache Kafka's jars from Maven Central
	"kcat kcat"               # testenv TestKafka* (an independent Kafka client); the Kafka output/input tests
	"initdb postgresql"       # testenv.StartPostgres: testenv TestPostgres*, outputs/postgres tests, e2e TestPostgres*
	"chromium chromium"       # testenv.StartBrowser: testenv TestBrowser, api TestDashboard (headless)
	"chromedriver chromium-driver" # testenv.StartBrowser: testenv TestBrowser, api TestDashboard (W3C WebDriver from Go)
)
# terraform itself is not packaged for Debian: terraform TestTerraformCLI
# runs where it is installed and skips elsewhere (the hcl tests cover what
# it checks); it is the one tool left out of this list.

# found: is the command in PATH, an sbin directory (a user's PATH may lack
# them) or PostgreSQL's versioned bin directory, where Debian keeps initdb?
# testenv.NeedTool looks there too.
found() {
	command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ||
		compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null
}

missing() {
	local t
	for t in "${tools[@]}"; do
		# shellcheck disable=SC2086 # "command package": split in two
		set -- $t
		found "$1" || printf '%s\n' "$2"
	done
}

mapfile -t need < <(missing)
if [ ${#need[@]} -gt 0 ]; then
	echo "test.sh: installing ${need[*]}" >&2
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null; then
			echo "test.sh: need ${need[*]}, and neither root nor sudo to install them: apt-get install -y ${need[*]}" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	if ! command -v apt-get >/dev/null; then
		echo "test.sh: need the tools of Debian's ${need[*]}, and there is no apt-get: install them by hand" >&2
		exit 1
	fi
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	mapfile -t still < <(missing)
	if [ ${#still[@]} -gt 0 ]; then
		echo "test.sh: still missing after apt-get install: ${still[*]}" >&2
		exit 1
	fi
fi

# The Kafka broker testenv.StartKafka runs: its jars, fetched by Maven into
# a cache directory once (java 17+ and mvn must be installed).
scripts/kafka-jars.sh >/dev/null

export CI=1
go version
echo "test.sh: go vet" >&2
go vet ./...
echo "test.sh: staticcheck" >&2
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "test.sh: go test -race" >&2
go test -race -timeout 30m "$@" ./...

# Allocation tests live in files built only without the race detector
# (//go:build !race): run exactly those tests, without -race.
mapfile -t norace < <(grep -rl --include='*_test.go' '^//go:build !race$' . | sort)
if [ ${#norace[@]} -gt 0 ]; then
	pkgs=$(printf '%s\n' "${norace[@]}" | xargs -n1 dirname | sort -u)
	names=$(sed -n 's/^func \(Test[A-Za-z0-9_]*\)(.*/\1/p' "${norace[@]}" | paste -sd'|' -)
	echo "test.sh: go test (no -race) -run ^($names)\$" >&2
	# shellcheck disable=SC2086 # pkgs: one package directory a word
	go test -timeout 5m "$@" -run "^($names)\$" $pkgs
fi
echo "test.sh: all passed" >&2
