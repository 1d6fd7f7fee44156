#!/usr/bin/env bash
# instructions.sh — the stable figure: instructions per event of one agent,
# counted by valgrind's callgrind, on a fixed file of router lines. Unlike
# events/s or CPU seconds it does not move with the load of a shared machine
# (two runs agree to about 0.2%), so it shows what a change to the hot path
# did.
#
#   bench/instructions.sh                       every mode, 200,000 lines
#   bench/instructions.sh -modes file-zstd,http-s2 -keep /tmp/cg
#
# For each mode it runs `pulse agent` under callgrind twice with a stdin
# input — on the file, and on an empty input (start-up and shut-down alone)
# — and prints (Ir(file) - Ir(empty)) / lines. A stdin input that reaches
# its end flushes, drains the outputs and exits by itself.
#
# Modes (one output each but fanout-s2; the batches of `pulse bench`: 5,000 events / 1 MiB):
#   file-lines   file output, encoding: lines
#   file-zstd    file output, encoding: pulse, compression: zstd
#   http-zstd    http output, encoding: pulse, zstd, to a `pulse sink`
#   http-s2      likewise with compression: s2 (a file output takes no s2)
#   http-lines   http output, encoding: lines
#   fanout-s2    three http outputs like http-s2's to one sink: they share
#                one buffer (a binary from before package fanout keeps three)
# The sink runs natively, outside callgrind: only the agent is counted.
#
# Callgrind counts user-space instructions only. What the kernel does for
# the agent (file creates, page-cache copies) shows instead in a second,
# native run under `perf stat` (where its syscall tracepoints exist, as
# root): file opens, unlinks, renames, writes and pwrites per 1,000 events.
# Those counts are near-deterministic too (a batch is 5,000 events).
#
# Flags: -lines N (200000), -modes LIST (file-lines,file-zstd,http-zstd,
# http-s2; also http-lines, fanout-s2), -keep DIR (keep the callgrind.out.MODE files there, for
# callgrind_annotate), -bin FILE (count this pulse binary instead of
# building one), -no-syscalls (skip the perf stat run). Needs go and
# valgrind. The binary is built with
# CGO_ENABLED=0 and run with GODEBUG=asyncpreemptoff=1: callgrind 3.19
# aborts on the signals of cgo thread start-up and of async preemption.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
lines=200000
modes=file-lines,file-zstd,http-zstd,http-s2
keep=
bin=
ir=
counts=
syscalls=yes

usage() {
	sed -n '2,37s/^# \{0,1\}//p' "$0"
	exit "${1:-2}"
}

die() {
	echo "instructions.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	-lines) [ $# -ge 2 ] || usage; lines=$2; shift 2 ;;
	-modes) [ $# -ge 2 ] || usage; modes=$2; shift 2 ;;
	-keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
	-bin) [ $# -ge 2 ] || usage; bin=$2; shift 2 ;;
	-no-syscalls) syscalls=no; shift ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done

command -v valgrind >/dev/null || die "valgrind not found (Debian: apt-get install valgrind)"

work=$(mktemp -d /tmp/pulse-instr-XXXXXX)
sink_pid=
cleanup() {
	if [ -n "$sink_pid" ]; then
		kill "$sink_pid" 2>/dev/null || true
		wait "$sink_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$bin" ]; then
	bin="$work/pulse"
	(cd "$root" && CGO_ENABLED=0 go build -o "$bin" ./cmd/pulse) || die "go build failed"
fi
[ -n "$keep" ] && mkdir -p "$keep"

# The same flags give the same bytes (gen's default start time is fixed).
log="$work/router.log"
"$bin" gen -mix router=100 -count "$lines" -seed 1 -out "$log" -q
: >"$work/empty.log"

# free_port prints a loopback TCP port nothing listens on.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port"
}

# start_sink starts a pulse sink on a free port into $1 and sets sink_addr;
# a port taken meanwhile by someone else costs a retry on another.
start_sink() {
	local port
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		sink_addr="127.0.0.1:$port"
		"$bin" sink -listen "$sink_addr" -dir "$1" -quiet 2>"$work/sink.err" &
		sink_pid=$!
		for _ in $(seq 1 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				return
			fi
			if ! kill -0 "$sink_pid" 2>/dev/null; then
				break
			fi
			sleep 0.1
		done
		stop_sink
	done
	die "sink did not listen on $sink_addr: $(cat "$work/sink.err")"
}

stop_sink() {
	kill "$sink_pid" 2>/dev/null || true
	wait "$sink_pid" 2>/dev/null || true
	sink_pid=
}

# output_yaml prints the output section of mode $1 writing to dir $2
# (file) or sink address $3 (http).
output_yaml() {
	local type=file enc=pulse comp='' names=out name
	case $1 in
	file-lines) enc=lines ;;
	file-zstd) comp=zstd ;;
	http-zstd) type=http comp=zstd ;;
	http-s2) type=http comp=s2 ;;
	http-lines) type=http enc=lines ;;
	fanout-s2) type=http comp=s2 names="out1 out2 out3" ;;
	*) die "unknown mode $1" ;;
	esac
	for name in $names; do
		echo "  - name: $name"
		echo "    stream: events"
		echo "    type: $type"
		if [ "$type" = file ]; then
			echo "    path: \"$2\""
		else
			echo "    endpoints: [\"$3\"]"
			echo "    max_in_flight: 4"
			echo "    timeout: 60s"
		fi
		echo "    encoding: $enc"
		[ -n "$comp" ] && echo "    compression: $comp"
		echo "    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 200ms}"
		echo "    buffer: {max_bytes: 2GiB, when_full: block}"
	done
}

# prepare_run makes the run directory $work/run-$1-$2 of mode $1, starting
# the sink if the mode has one, and writes its agent.yaml; it sets run.
prepare_run() {
	local mode=$1 tag=$2 out
	run="$work/run-$mode-$tag"
	rm -rf "$run"
	mkdir -p "$run"
	out="$run/out"
	sink_addr=
	if [ "${mode%%-*}" = http ] || [ "${mode%%-*}" = fanout ]; then
		start_sink "$out"
	fi
	{
		echo "id: instructions"
		echo "data_dir: \"$run/data\""
		echo "shutdown_timeout: 120s"
		echo "log: {level: warn}"
		echo "inputs:"
		echo "  - {name: stdin, type: stdin}"
		echo "outputs:"
		output_yaml "$mode" "$out" "$sink_addr"
	} >"$run/agent.yaml"
}

# count_ir runs the agent of mode $1 under callgrind on input $2 and sets
# ir to the instructions it executed. $3 (file or empty) names the run.
count_ir() {
	local mode=$1 input=$2 tag=$3 cgout
	prepare_run "$mode" "$tag"
	cgout=/dev/null
	[ -n "$keep" ] && [ "$tag" = file ] && cgout="$keep/callgrind.out.$mode"
	if ! GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$cgout" \
		"$bin" agent -config "$run/agent.yaml" <"$input" >"$run/agent.out" 2>"$run/valgrind.err"; then
		tail -20 "$run/valgrind.err" >&2
		die "$mode: the agent failed under callgrind"
	fi
	ir=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$run/valgrind.err")
	[ -n "$ir" ] || die "$mode: no instruction count in $run/valgrind.err"
	if [ "$tag" = file ]; then
		check_output "$mode" "$run/out"
	fi
	if [ -n "$sink_pid" ]; then
		stop_sink
	fi
}

# The syscalls perf stat counts, and their column titles.
events=syscalls:sys_enter_openat,syscalls:sys_enter_unlinkat,syscalls:sys_enter_renameat,syscalls:sys_enter_renameat2,syscalls:sys_enter_write,syscalls:sys_enter_pwrite64,syscalls:sys_enter_newfstatat,syscalls:sys_enter_ftruncate

# count_syscalls runs the agent of mode $1 natively under perf stat on the
# file and sets counts to its syscalls per 1,000 events, in the order of
# events.
count_syscalls() {
	local mode=$1
	prepare_run "$mode" perf
	if ! perf stat -x, -o "$run/perf.csv" -e "$events" \
		"$bin" agent -config "$run/agent.yaml" <"$log" >"$run/agent.out" 2>"$run/agent.err"; then
		tail -20 "$run/agent.err" >&2
		die "$mode: the agent failed under perf stat"
	fi
	check_output "$mode" "$run/out"
	if [ -n "$sink_pid" ]; then
		stop_sink
	fi
	counts=$(awk -F, -v n="$lines" '$3 ~ /^syscalls:/ { printf " %9.2f", $1 * 1000 / n }' "$run/perf.csv")
}

# check_output fails unless every line reached the output (a lines file
# or the sink's files); a zstd file output is checked by its size only.
check_output() {
	local mode=$1 out=$2 got want=$lines
	case $mode in
	fanout-*) want=$((3 * lines)) ;;
	file-zstd)
		got=$(cat "$out"/* | wc -c)
		[ "$got" -gt 0 ] || die "$mode: empty output"
		return
		;;
	esac
	got=$(cat "$out"/*.log 2>/dev/null | wc -l)
	[ "$got" -eq "$want" ] || die "$mode: $got of $want lines reached the output"
}

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$bin" != "$work/pulse" ]; then
	commit="none (-bin $bin)"
elif ! git -C "$root" diff --quiet HEAD 2>/dev/null; then
	commit="$commit+dirty"
fi
printf '%s, %d router lines (%d bytes), commit %s, load %s\n' \
	"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" "$lines" \
	"$(wc -c <"$log")" "$commit" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %15s %13s %13s\n' mode "Ir (file)" "Ir (empty)" "Ir / event"
IFS=, read -r -a list <<<"$modes"
for mode in "${list[@]}"; do
	count_ir "$mode" "$log" file
	full=$ir
	count_ir "$mode" "$work/empty.log" empty
	base=$ir
	printf '%-11s %15d %13d %13.0f\n' "$mode" "$full" "$base" \
		"$(awk -v f="$full" -v b="$base" -v n="$lines" 'BEGIN { print (f - b) / n }')"
done

if [ "$syscalls" = no ]; then
	exit 0
fi
if ! command -v perf >/dev/null || ! perf stat -e syscalls:sys_enter_openat true >/dev/null 2>&1; then
	echo "(no syscall counts: perf, or its syscall tracepoints, unavailable; Debian: linux-perf, run as root)"
	exit 0
fi
echo
echo "syscalls per 1,000 events (perf stat, native run):"
printf '%-11s %9s %9s %9s %9s %9s %9s %9s %9s\n' mode openat unlinkat renameat renameat2 write pwrite fstatat ftruncate
for mode in "${list[@]}"; do
	count_syscalls "$mode"
	printf '%-11s%s\n' "$mode" "$counts"
done
