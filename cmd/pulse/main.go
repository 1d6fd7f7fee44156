// Command pulse is a log-forwarding agent: it tails logs, buffers them on
// disk under a size cap, and delivers them to several sink clusters at once.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=..."; when
// it is not, buildVersion asks the build info.
var version string

const usage = `pulse — log forwarding with crash-safe, capped disk buffers

Usage:
  pulse agent [-config FILE] [-print-config]   run the agent (default config: stdin → ./pulse-data/out/local)
  pulse sink -listen ADDR -dir DIR [flags]     receive batches over HTTP and write their events to files in DIR
  pulse gen (-count N | -duration D) [flags]   generate realistic log lines (Heroku router, runtime metrics, l2met)
  pulse lsevents [-watch] [DIR ...]            show event files and buffers: counts, bytes, times, rates
  pulse merger -config FILE                    merge fragments from agents into snapshots (a config with merge:)
  pulse api -config FILE [-listen ADDR]        serve the Metrics API and dashboard over the stored roll-ups (a config with api:)
  pulse demo [-events N] [-rate R] [-keep]     run a whole topology locally, kill a node half-way, verify every event arrived
  pulse demo -kafka                            the same through a local Kafka, mergers as a consumer group (scripts/kafka-jars.sh)
  pulse bench [-events N | -duration D] [-down B:10s-30s] [-out DIR]   measure the three-cluster scenario (report.json, chart.svg)
  pulse bench -to kafka [-events N]            the agent into a local Kafka beside kcat -P, same file (kafka-report.json)
  pulse validate -config FILE                  check a config file; prints ok or every error
  pulse buffer verify [-json] DIR|-config FILE check buffers offline (agent stopped): frames, CRCs, journal, .bad, cap
  pulse buffer salvage [-to FILE] DIR|-config FILE   put .bad segments' verified batches back (or their events into FILE)
  pulse buffer clear-bad DIR|-config FILE      remove reviewed .bad files (clears the health alarm)
  pulse version                                print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "agent":
		return runAgent(args[1:], stdin, stdout, stderr)
	case "merger":
		return runMerger(args[1:], stdin, stdout, stderr)
	case "api":
		return runAPI(args[1:], stdout, stderr)
	case "sink":
		return runSink(args[1:], stderr)
	case "validate":
		return runValidate(args[1:], stdout, stderr)
	case "gen":
		return runGen(args[1:], stdout, stderr)
	case "demo":
		return runDemo(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "lsevents":
		return runLsevents(args[1:], stdout, stderr)
	case "buffer":
		return runBuffer(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "pulse", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "pulse: unknown command %q\n\n%s", args[0], usage)
	return 2
}
