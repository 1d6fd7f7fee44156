#!/usr/bin/env bash
# Pulse side by side with syslog-ng and rsyslog (issue 8, part 5): one file
# of Heroku router lines, three receiving sinks, each tool in turn — healthy,
# then with one sink killed shortly after the start and back 10 s later —
# measuring events/s end to end, the tool's CPU seconds per million events
# and peak RSS, and what each sink lost or got twice. Everything runs on
# 127.0.0.1 in a temp dir. See bench/README.md for the setups and why.
set -euo pipefail
[ "${BASH_VERSINFO[0]}" -ge 5 ] || {
	echo "compare.sh: needs bash 5 or later" >&2
	exit 2
}

usage() {
	cat <<'EOF'
usage: bench/compare.sh [-events N] [-out DIR] [flags]

  -events N          router lines in the file (default 2000000)
  -out DIR           where results.json and results.md go (default .)
  -tools LIST        comma-separated, from syslog-ng,rsyslog,pulse,pulse-lines (default all)
  -scenarios LIST    healthy,down (default both)
  -down-at S         seconds after the tool's start when sink 2 is killed (default 2)
  -down-for S        seconds sink 2 stays down (default 10)
  -stall S           give up on a run after S seconds without progress (default 30)
  -timeout S         give up on a run after S seconds in all (default 900)
  -syslog-ng-root D  use syslog-ng from an extracted syslog-ng-core package in D
                     (default $SYSLOG_NG_ROOT, else syslog-ng on the PATH)
  -sink-dir D        the sinks' files in a new dir under D (e.g. /dev/shm), off the
                     disk the tools' queues are on, so that their writeback is not measured
  -keep              keep the temp dir (the tools' configs, logs and the sinks' files)
EOF
}

failed=0
die() {
	printf 'compare.sh: %s\n' "$*" >&2
	failed=1
	exit 1
}
say() { printf '%s\n' "$*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

events=2000000
out=.
tools=syslog-ng,rsyslog,pulse,pulse-lines
scenarios=healthy,down
down_at=2
down_for=10
stall=30
run_timeout=900
keep=0
sng_root=${SYSLOG_NG_ROOT:-}
sink_dir=

while [ $# -gt 0 ]; do
	case $1 in
	-h | -help | --help)
		usage
		exit 0
		;;
	-keep)
		keep=1
		shift
		continue
		;;
	-events | -out | -tools | -scenarios | -down-at | -down-for | -stall | -timeout | -syslog-ng-root | -sink-dir)
		[ $# -ge 2 ] || die "$1 needs a value"
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
	case $1 in
	-events) events=$2 ;;
	-out) out=$2 ;;
	-tools) tools=$2 ;;
	-scenarios) scenarios=$2 ;;
	-down-at) down_at=$2 ;;
	-down-for) down_for=$2 ;;
	-stall) stall=$2 ;;
	-timeout) run_timeout=$2 ;;
	-syslog-ng-root) sng_root=$2 ;;
	-sink-dir) sink_dir=$2 ;;
	esac
	shift 2
done
for flag in "-events $events" "-down-at $down_at" "-down-for $down_for" "-stall $stall" "-timeout $run_timeout"; do
	if ! [[ ${flag#* } =~ ^[1-9][0-9]*$ ]]; then die "${flag%% *}: want a positive whole number, not '${flag#* }'"; fi
done
IFS=, read -ra tool_list <<<"$tools"
IFS=, read -ra scenario_list <<<"$scenarios"
for t in "${tool_list[@]}"; do
	case $t in syslog-ng | rsyslog | pulse | pulse-lines) ;; *) die "-tools: unknown tool '$t'" ;; esac
done
for s in "${scenario_list[@]}"; do
	case $s in healthy | down) ;; *) die "-scenarios: unknown scenario '$s'" ;; esac
done
has_tool() {
	local t
	for t in "${tool_list[@]}"; do [ "$t" = "$1" ] && return 0; done
	return 1
}

# --- the tools ------------------------------------------------------------

PATH=$PATH:/usr/sbin:/sbin
install_hint="Debian: bench/install-peers.sh (as root) installs rsyslog and unpacks syslog-ng
into /opt/syslog-ng (the two packages conflict), then:
  bench/compare.sh -syslog-ng-root /opt/syslog-ng ...   # or SYSLOG_NG_ROOT=/opt/syslog-ng"
sng_bin='' sng_env=() sng_args=() sng_version='' rsyslog_version=
if has_tool syslog-ng; then
	if [ -n "$sng_root" ]; then
		sng_bin=$sng_root/usr/sbin/syslog-ng
		[ -x "$sng_bin" ] || die "no $sng_bin in -syslog-ng-root $sng_root"$'\n'"$install_hint"
		moddir=$(find "$sng_root/usr/lib/syslog-ng" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' | head -n 1)
		[ -n "$moddir" ] || die "no module directory under $sng_root/usr/lib/syslog-ng"
		sng_env=("LD_LIBRARY_PATH=$sng_root/usr/lib/syslog-ng${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
		sng_args=("--module-path=$moddir")
	else
		sng_bin=$(command -v syslog-ng) || die "syslog-ng not found."$'\n'"$install_hint"
	fi
	sng_version=$(env "${sng_env[@]}" "$sng_bin" --version 2>&1 | sed -n 's/^syslog-ng [0-9]* (\(.*\))$/\1/p' | head -n 1)
	[ -n "$sng_version" ] || die "cannot run $sng_bin --version:"$'\n'"$(env "${sng_env[@]}" "$sng_bin" --version 2>&1 | head -n 5)"
fi
if has_tool rsyslog; then
	command -v rsyslogd >/dev/null || die "rsyslogd not found."$'\n'"$install_hint"
	rsyslog_version=$(rsyslogd -v 2>&1 | awk 'NR == 1 { print $2 }')
fi
command -v curl >/dev/null || die "curl not found (apt-get install -y curl)"
command -v go >/dev/null || die "go not found"

# --- processes ------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pulse-compare.XXXXXX")
tmp=$(cd "$tmp" && pwd)
sinks=$tmp # where the sinks' files go: -sink-dir, else beside the rest
if [ -n "$sink_dir" ]; then
	[ -d "$sink_dir" ] || die "-sink-dir: $sink_dir is not a directory"
	sinks=$(mktemp -d "$sink_dir/pulse-compare-sinks.XXXXXX") || die "-sink-dir: cannot create a dir in $sink_dir"
fi
pids=()
declare -A pid_start # pid -> its start time, so that a reused pid is not taken for ours

# proc_stat PID: sets stat_fields to the fields of /proc/PID/stat after the
# command name (stat_fields[0] is field 3, the state). Builtins only: it
# runs several times a second while the tools are measured.
stat_fields=()
proc_stat() {
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -ra stat_fields <<<"${line##*) }"
}

# alive PID: the process we started as PID is still running (the shell
# reaps the children it disowned; the start time tells a reused pid).
alive() {
	proc_stat "$1" || return 1
	[ "${stat_fields[0]}" != Z ] && [ "${stat_fields[19]}" = "${pid_start[$1]:-}" ]
}

# stop_pid PID SIGNAL GRACE: signals PID, waits up to GRACE seconds for it to
# exit, then kills it.
stop_pid() {
	local pid=$1 sig=$2 grace=$3 i
	if alive "$pid"; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			say "  pid $pid still running ${grace}s after SIG$sig: killing it"
			kill -s KILL "$pid" 2>/dev/null || true
			for ((i = 0; i < 100; i++)); do
				alive "$pid" || break
				sleep 0.1
			done
		fi
	fi
}

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		if alive "$pid"; then kill -s TERM "$pid" 2>/dev/null || true; fi
	done
	for pid in "${pids[@]}"; do
		stop_pid "$pid" TERM 10
	done
	if [ "$keep" = 1 ] || [ "$failed" = 1 ]; then
		say "kept $tmp"
		[ "$sinks" = "$tmp" ] || say "kept $sinks"
	else
		rm -rf "$tmp"
		[ "$sinks" = "$tmp" ] || rm -rf "$sinks"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn LOG CMD...: starts CMD in the background with its output appended
# to LOG; sets last_pid. Disowned: the shell reaps it without reporting a
# killed sink as a job.
last_pid=
spawn() {
	local log=$1
	shift
	"$@" >>"$log" 2>&1 &
	last_pid=$!
	disown "$last_pid"
	proc_stat "$last_pid" || die "$1 exited at once: $(tail -n 5 "$log")"
	pid_start[$last_pid]=${stat_fields[19]}
	pids+=("$last_pid")
}

# now_us: microseconds since the epoch.
now_us() { echo "${EPOCHREALTIME/./}"; }

# tree_of PID: PID and its descendants.
tree_of() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = split(root, queue, " ")
			for (i = 1; i <= n; i++) {
				printf "%s ", queue[i]
				m = split(kids[queue[i]], k, " ")
				for (j = 1; j <= m; j++) queue[++n] = k[j]
			}
		}'
}

# sample_usage PID...: sets usage to "CPU_TICKS PEAK_RSS_KIB" summed over
# the processes (utime+stime, cutime+cstime of children they reaped; VmHWM).
# Builtins only, like proc_stat.
usage="0 0"
sample_usage() {
	local p ticks=0 hwm=0 key kb _
	for p in "$@"; do
		proc_stat "$p" || continue
		ticks=$((ticks + stat_fields[11] + stat_fields[12] + stat_fields[13] + stat_fields[14]))
		{
			while read -r key kb _; do
				if [ "$key" = VmHWM: ]; then hwm=$((hwm + kb)); fi
			done <"/proc/$p/status"
		} 2>/dev/null || true
	done
	usage="$ticks $hwm"
}

# --- sinks ----------------------------------------------------------------

declare -a sink_pid sink_http sink_tcp sink_uniq sink_dups sink_events sink_up

# start_sink I: starts sink I (1..3) of the current run with its log in
# $run/sinkI.log and its files in $run_sinks/sinkI. The first start takes free
# ports; a restart the same ones (its files stay, and it counts their ids).
start_sink() {
	local i=$1 log=$run/sink$1.log before line deadline
	before=0
	if [ -f "$log" ]; then before=$(wc -l <"$log"); fi
	spawn "$log" "$pulse" sink -listen "${sink_http[$i]:-127.0.0.1:0}" -tcp "${sink_tcp[$i]:-127.0.0.1:0}" \
		-dir "$run_sinks/sink$i" -ids "$events" -quiet
	sink_pid[i]=$last_pid
	deadline=$(($(now_us) + 60000000))
	while :; do
		line=$(tail -n +"$((before + 1))" "$log" 2>/dev/null | grep -m 1 'msg="sink listening"' || true)
		[ -n "$line" ] && break
		alive "${sink_pid[i]}" || die "$run_name: sink $i exited at start:"$'\n'"$(tail -n 5 "$log")"
		[ "$(now_us)" -lt "$deadline" ] || die "$run_name: sink $i not listening after 60 s:"$'\n'"$(tail -n 5 "$log")"
		sleep 0.05
	done
	sink_http[i]=$(sed -n 's/.* addr=\([^ ]*\).*/\1/p' <<<"$line")
	sink_tcp[i]=$(sed -n 's/.* tcp=\([^ ]*\).*/\1/p' <<<"$line")
	sink_up[i]=1 sink_uniq[i]=0 sink_dups[i]=0 sink_events[i]=0
}

# poll_sink I: refreshes sink I's counts; fails (1) if it does not answer.
poll_sink() {
	local i=$1 line
	line=$(curl -s --max-time 2 "http://${sink_http[$i]}/") || return 1
	[[ $line =~ events=([0-9]+) ]] || return 1
	sink_events[i]=${BASH_REMATCH[1]}
	[[ $line =~ unique=([0-9]+)\ duplicates=([0-9]+) ]] || return 1
	sink_uniq[i]=${BASH_REMATCH[1]}
	sink_dups[i]=${BASH_REMATCH[2]}
}

# --- the tools' runs ------------------------------------------------------

# render TEMPLATE OUT KEY=VALUE...: the template with @KEY@ replaced.
render() {
	local tmpl=$here/configs/$1 dst=$2 kv
	shift 2
	local args=()
	for kv in "$@"; do
		args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${args[@]}" "$tmpl" >"$dst"
}

# start_tool TOOL: writes TOOL's config for the current run's sinks and
# starts it; sets tool_pid.
start_tool() {
	local state=$run/state conf
	mkdir -p "$state"
	case $1 in
	syslog-ng)
		conf=$run/syslog-ng.conf
		render syslog-ng.conf.tmpl "$conf" "INPUT=$input" "STATE=$state" \
			"PORT1=${sink_tcp[1]##*:}" "PORT2=${sink_tcp[2]##*:}" "PORT3=${sink_tcp[3]##*:}"
		sed -i "s|^@version: .*|@version: ${sng_version%.*}|" "$conf"
		spawn "$run/tool.log" env "${sng_env[@]}" "$sng_bin" -F -e --no-caps -f "$conf" "${sng_args[@]}" \
			--persist-file="$state/syslog-ng.persist" --pidfile="$state/syslog-ng.pid" --control="$state/syslog-ng.ctl"
		;;
	rsyslog)
		conf=$run/rsyslog.conf
		render rsyslog.conf.tmpl "$conf" "INPUT=$input" "STATE=$state" \
			"PORT1=${sink_tcp[1]##*:}" "PORT2=${sink_tcp[2]##*:}" "PORT3=${sink_tcp[3]##*:}"
		spawn "$run/tool.log" rsyslogd -n -f "$conf" -i "$state/rsyslogd.pid"
		;;
	pulse | pulse-lines)
		conf=$run/pulse.yaml
		local enc=pulse
		if [ "$1" = pulse-lines ]; then enc=lines; fi
		render pulse.yaml.tmpl "$conf" "INPUT=$input" "STATE=$state" "ENCODING=$enc" "COMPRESSION=zstd" \
			"ADDR1=${sink_http[1]}" "ADDR2=${sink_http[2]}" "ADDR3=${sink_http[3]}"
		if [ "$enc" = lines ]; then sed -i '/compression:/d' "$conf"; fi
		"$pulse" validate -config "$conf" >/dev/null || die "$run_name: invalid config $conf"
		spawn "$run/tool.log" "$pulse" agent -config "$conf"
		;;
	esac
	tool_pid=$last_pid
}

# Rows of the table, one field list per run (see add_row).
rows=()

# run_one TOOL SCENARIO: one measured run; appends a row.
run_one() {
	local tool=$1 scenario=$2
	run_name="$tool/$scenario"
	run=$tmp/$tool-$scenario
	run_sinks=$sinks/$tool-$scenario
	mkdir -p "$run"
	sink_pid=() sink_http=() sink_tcp=() sink_uniq=() sink_dups=() sink_events=() sink_up=()
	local i
	for i in 1 2 3; do
		start_sink "$i"
	done

	say "$run_name: starting"
	local t0 el last_change=0 progress=-1 p phase=0 status="" next_print=5000000 polls_failed=0
	local tree next_tree=0 usage_then="0 0"
	t0=$(now_us)
	start_tool "$tool"
	# phase: 0 all sinks up, 1 sink 2 down, 2 sink 2 back (down scenario).
	while :; do
		sleep 0.25
		el=$(($(now_us) - t0))
		if ! alive "$tool_pid"; then
			status="$tool exited after $((el / 1000000)) s"
			say "$run_name: $status:"$'\n'"$(tail -n 20 "$run/tool.log")"
			break
		fi
		if [ "$scenario" = down ] && [ "$phase" = 0 ] && [ "$el" -ge $((down_at * 1000000)) ]; then
			stop_pid "${sink_pid[2]}" KILL 10
			sink_up[2]=0 phase=1
			say "$run_name: $(fmt_s "$el") s: sink 2 killed (held ${sink_uniq[2]} ids)"
		fi
		if [ "$phase" = 1 ] && [ "$el" -ge $(((down_at + down_for) * 1000000)) ]; then
			start_sink 2
			phase=2 last_change=$el
			say "$run_name: $(fmt_s "$(($(now_us) - t0))") s: sink 2 back"
		fi
		local complete=1 sum=0
		for i in 1 2 3; do
			if [ "${sink_up[i]}" = 1 ] && [ "${sink_uniq[i]}" -lt "$events" ]; then
				if poll_sink "$i"; then
					polls_failed=0
				else
					polls_failed=$((polls_failed + 1))
					[ "$polls_failed" -lt 120 ] || die "$run_name: sink $i has not answered for 30 s"
				fi
			fi
			if [ "${sink_up[i]}" != 1 ] || [ "${sink_uniq[i]}" -lt "$events" ]; then complete=0; fi
			sum=$((sum + sink_uniq[i] + sink_events[i]))
		done
		if [ "$el" -ge "$next_tree" ]; then
			# The tool's processes: new ones are rare, ps is not cheap.
			tree=$(tree_of "$tool_pid")
			next_tree=$((el + 5000000))
		fi
		if [ "$sum" != "$progress" ]; then
			progress=$sum last_change=$el
			# shellcheck disable=SC2086 # a list of pids
			sample_usage $tree
			usage_then=$usage
		fi
		if [ "$complete" = 1 ] && { [ "$scenario" = healthy ] || [ "$phase" = 2 ]; }; then
			tree=$(tree_of "$tool_pid")
			# shellcheck disable=SC2086
			sample_usage $tree
			usage_then=$usage
			break
		fi
		if [ "$el" -ge "$next_print" ]; then
			next_print=$((next_print + 5000000))
			p="$run_name: $(fmt_s "$el") s:"
			for i in 1 2 3; do
				if [ "${sink_up[i]}" = 1 ]; then p+=" sink$i ${sink_uniq[i]}"; else p+=" sink$i (down)"; fi
			done
			say "$p of $events"
		fi
		if [ "$phase" != 1 ] && [ $((el - last_change)) -ge $((stall * 1000000)) ]; then
			status="no progress for $stall s"
			break
		fi
		if [ "$el" -ge $((run_timeout * 1000000)) ]; then
			status="timed out after $run_timeout s"
			break
		fi
	done
	# An incomplete run is measured up to its last progress: the time, and
	# the tool's cost sampled then.
	local done_us=$el
	if [ -n "$status" ]; then done_us=$last_change; fi
	stop_pid "$tool_pid" TERM 30
	local lost=0 dups=0 per_sink=""
	for i in 1 2 3; do
		if [ "${sink_up[i]}" = 1 ]; then
			poll_sink "$i" || say "$run_name: sink $i did not answer at the end"
		fi
		lost=$((lost + events - sink_uniq[i]))
		dups=$((dups + sink_dups[i]))
		per_sink+="${per_sink:+,}$((events - sink_uniq[i]))"
		stop_pid "${sink_pid[i]}" TERM 30
	done
	if [ "$lost" -gt 0 ]; then
		local short=""
		for i in 1 2 3; do
			if [ "${sink_uniq[i]}" -lt "$events" ]; then short+=" sink $i short by $((events - sink_uniq[i]))"; fi
		done
		say "$run_name: incomplete (${status:-ended}):$short of $events"
		[ -n "$status" ] || status="incomplete"
	fi
	if [ -n "$status" ] && [[ $status == *exited* || $status == timed* ]]; then
		failed=1
	fi
	add_row "$tool" "$scenario" "$done_us" "$usage_then" "$lost" "$per_sink" "$dups" "$status"
	if [ "$keep" != 1 ]; then rm -rf "$run" "${run_sinks:?}"; fi
}

# fmt_s US: microseconds as seconds with one decimal.
fmt_s() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1e6 }'; }

# add_row TOOL SCENARIO DONE_US "TICKS HWM_KIB" LOST PER_SINK DUPS STATUS
add_row() {
	local tool=$1 scenario=$2 us=$3 ticks hwm lost=$5 per_sink=$6 dups=$7 status=$8
	read -r ticks hwm <<<"$4"
	local label
	case $tool in
	syslog-ng) label="syslog-ng $sng_version" ;;
	rsyslog) label="rsyslog $rsyslog_version" ;;
	pulse) label="pulse (encoding: pulse, zstd)" ;;
	pulse-lines) label="pulse (encoding: lines)" ;;
	esac
	# Events/s: every event at every sink over the time until then; for an
	# incomplete run, the mean unique ids per sink until the last progress.
	rows+=("$(awk -v us="$us" -v ticks="$ticks" -v hz="$clk_tck" -v hwm="$hwm" -v n="$events" \
		-v lost="$lost" -v label="$label" -v scenario="$scenario" -v per_sink="$per_sink" -v dups="$dups" \
		-v status="$status" 'BEGIN {
			s = us / 1e6
			delivered = n - lost / 3
			cpu = ticks / hz
			printf "%s\t%s\t%.2f\t%.0f\t%.2f\t%.2f\t%.1f\t%d\t%s\t%d\t%s\n", label, scenario, s,
				(s > 0 ? delivered / s : 0), cpu, cpu / (n / 1e6), hwm / 1024, lost, per_sink, dups, status
		}')")
}

# --- the run --------------------------------------------------------------

clk_tck=$(getconf CLK_TCK)
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
say "uptime before: $(uptime)"
say "building pulse"
pulse=$tmp/pulse
(cd "$repo" && go build -o "$pulse" ./cmd/pulse) || die "go build failed"
pulse_version=$("$pulse" version 2>&1 | head -n 1)
input=$tmp/router.log
say "generating $events router lines"
"$pulse" gen -mix router=100 -count "$events" -out "$input" -q || die "pulse gen failed"
input_bytes=$(stat -c %s "$input")
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

for scenario in "${scenario_list[@]}"; do
	for tool in "${tool_list[@]}"; do
		run_one "$tool" "$scenario"
	done
done
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)
say "uptime after: $(uptime)"

# --- the report -----------------------------------------------------------

mkdir -p "$out"
scenario_label() {
	case $1 in
	healthy) echo healthy ;;
	down) echo "sink 2 down ${down_for} s" ;;
	esac
}
{
	printf '%s events (%s MiB of router lines), %s CPUs, load %s before and %s after; %s\n\n' \
		"$events" "$((input_bytes / 1048576))" "$(nproc)" "$load_before" "$load_after" "$started"
	if [ -n "$sink_dir" ]; then printf "The sinks' files in %s (-sink-dir), the tools' queues in %s.\n\n" "$sink_dir" "${TMPDIR:-/tmp}"; fi
	printf '| tool | scenario | events/s | CPU s / M events | peak RSS MiB | lost | duplicates | seconds | note |\n'
	printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n'
	for row in "${rows[@]}"; do
		IFS=$'\t' read -r label scenario s eps cpu cpum rss lost per_sink dups status <<<"$row"
		note=$status
		if [ "$lost" != 0 ]; then note="lost per sink: $per_sink${status:+; $status}"; fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(scenario_label "$scenario")" \
			"$eps" "$cpum" "$rss" "$lost" "$dups" "$s" "$note"
	done
} >"$out/results.md"

json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}
{
	printf '{\n'
	printf '  "started": %s,\n' "$(json_str "$started")"
	printf '  "command": %s,\n' "$(json_str "bench/compare.sh -events $events -tools $tools -scenarios $scenarios -down-at $down_at -down-for $down_for${sink_dir:+ -sink-dir $sink_dir}")"
	printf '  "host": {"cpus": %d, "load_before": %s, "load_after": %s},\n' "$(nproc)" "$(json_str "$load_before")" "$(json_str "$load_after")"
	printf '  "events": %d,\n  "file_bytes": %d,\n' "$events" "$input_bytes"
	printf '  "down": {"sink": 2, "at_s": %d, "for_s": %d},\n' "$down_at" "$down_for"
	printf '  "versions": {"pulse": %s, "syslog-ng": %s, "rsyslog": %s},\n' "$(json_str "$pulse_version")" \
		"$(json_str "$sng_version")" "$(json_str "$rsyslog_version")"
	printf '  "rows": ['
	sep=
	for row in "${rows[@]}"; do
		IFS=$'\t' read -r label scenario s eps cpu cpum rss lost per_sink dups status <<<"$row"
		printf '%s\n    {"tool": %s, "scenario": %s, "complete": %s, "seconds": %s, "events_per_second": %s, ' \
			"$sep" "$(json_str "$label")" "$(json_str "$scenario")" "$([ "$lost" = 0 ] && [ -z "$status" ] && echo true || echo false)" "$s" "$eps"
		printf '"cpu_seconds": %s, "cpu_seconds_per_million_events": %s, "peak_rss_mib": %s, ' "$cpu" "$cpum" "$rss"
		printf '"lost": %s, "lost_per_sink": [%s], "duplicates": %s, "status": %s}' "$lost" "$per_sink" "$dups" "$(json_str "$status")"
		sep=,
	done
	printf '\n  ]\n}\n'
} >"$out/results.json"

# The table on stdout.
printf '\n%s events (%s MiB), %s CPUs, load %s before, %s after\n' "$events" "$((input_bytes / 1048576))" "$(nproc)" "$load_before" "$load_after"
printf '%-30s %-16s %10s %10s %9s %9s %6s %8s\n' tool scenario events/s CPU-s/M RSS-MiB lost dups seconds
for row in "${rows[@]}"; do
	IFS=$'\t' read -r label scenario s eps cpu cpum rss lost per_sink dups status <<<"$row"
	printf '%-30s %-16s %10s %10s %9s %9s %6s %8s%s\n' "$label" "$(scenario_label "$scenario")" "$eps" "$cpum" "$rss" \
		"$lost" "$dups" "$s" "${status:+  ($status)}"
done
say "wrote $out/results.json and $out/results.md"
[ "$failed" = 0 ]
