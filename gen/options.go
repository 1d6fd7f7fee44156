package gen

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Output formats for HTTP outputs.
const (
	FormatLines   = "lines"   // newline-delimited lines, Content-Type text/plain
	FormatPulse   = "pulse"   // protocol records, zstd, POST /v1/batch
	FormatLogplex = "logplex" // application/logplex-1: octet-counted RFC 5424 frames
)

// Defaults.
const (
	DefaultBatch   = 1000
	DefaultTimeout = time.Minute
	DefaultDynos   = 4
	DefaultHost    = "app.example.com"
	// DefaultHostname is the syslog HOSTNAME, as Heroku's Logplex writes it.
	DefaultHostname = "host"
	// DefaultStep is the time between events' timestamps when Rate is 0.
	DefaultStep = 100 * time.Microsecond
)

// defaultStart is the first event's timestamp unless Options.Start says
// otherwise (2026-11-21T10:00:00Z): fixed, so that the same flags give the
// same bytes.
var defaultStart = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// Mix weighs the kinds of lines generated.
type Mix struct {
	Router  int // Heroku router lines
	Runtime int // log-runtime-metrics lines
	L2met   int // l2met count#/measure#/sample#/unique# lines
}

// DefaultMix is the mix unless Options.Mix says otherwise, as ParseMix
// reads it.
const DefaultMix = "router=80,runtime=10,l2met=10"

func (m Mix) total() int { return m.Router + m.Runtime + m.L2met }

// String renders m as ParseMix reads it.
func (m Mix) String() string {
	return fmt.Sprintf("router=%d,runtime=%d,l2met=%d", m.Router, m.Runtime, m.L2met)
}

// ParseMix reads "router=80,runtime=10,l2met=10". Kinds left out weigh 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 || n > 1_000_000 {
			return Mix{}, fmt.Errorf("gen: mix %q: want kind=weight (0 to 1000000), comma-separated", part)
		}
		switch k {
		case "router":
			m.Router = n
		case "runtime":
			m.Runtime = n
		case "l2met":
			m.L2met = n
		default:
			return Mix{}, fmt.Errorf("gen: mix %q: unknown kind %q (router, runtime, l2met)", s, k)
		}
	}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("gen: mix %q: every weight is 0", s)
	}
	return m, nil
}

// Options configure a Generator (the first group) and Run (all of them).
// Zero values take the defaults documented on each field.
type Options struct {
	Seed  uint64 // the same seed and options give the same lines
	Mix   Mix    // default DefaultMix
	Dynos int    // web dynos web.1..N; default 4
	Host  string // host= of router lines; default app.example.com
	// Start is the first event's timestamp (default 2026-11-21T10:00:00Z) and Step
	// the time between events' timestamps (default 1s/Rate, or
	// DefaultStep when Rate is 0). Timestamps do not follow the clock, so
	// that output is reproducible.
	Start time.Time
	Step  time.Duration

	Rate     float64       // events per second; 0 = as fast as possible
	Count    int64         // stop after this many events (0: no limit)
	Duration time.Duration // stop after this long (0: no limit); Count or Duration is required
	// Out is where lines go: "-" (stdout, the default), a file path
	// (created or truncated), http://host:port[/path],
	// syslog+tcp://host:port or syslog+udp://host:port.
	Out      string
	Format   string        // HTTP body format: lines (default), pulse or logplex
	Batch    int           // events per HTTP request; default 1000
	Timeout  time.Duration // how long one HTTP request may keep failing before Run gives up; default 1m
	Hostname string        // syslog HOSTNAME field; default "host"
	Stdout   io.Writer     // where "-" writes; default os.Stdout
	Logger   *slog.Logger  // default slog.Default()
}

// withDefaults validates the generator options and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Mix == (Mix{}) {
		o.Mix = Mix{Router: 80, Runtime: 10, L2met: 10} // DefaultMix
	}
	if o.Mix.Router < 0 || o.Mix.Runtime < 0 || o.Mix.L2met < 0 || o.Mix.total() <= 0 {
		return o, fmt.Errorf("gen: bad mix %v", o.Mix)
	}
	if o.Dynos == 0 {
		o.Dynos = DefaultDynos
	}
	if o.Dynos < 1 || o.Dynos > 10_000 {
		return o, fmt.Errorf("gen: Dynos %d out of range [1, 10000]", o.Dynos)
	}
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.Start.IsZero() {
		o.Start = defaultStart
	}
	if o.Start.Before(time.Unix(0, 0)) {
		return o, fmt.Errorf("gen: Start %v is before 1970", o.Start)
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return o, fmt.Errorf("gen: Rate %v must be a finite number ≥ 0", o.Rate)
	}
	if o.Step == 0 {
		o.Step = DefaultStep
		if o.Rate > 0 {
			o.Step = max(time.Duration(float64(time.Second)/o.Rate), time.Nanosecond)
		}
	}
	if o.Step < 0 {
		return o, fmt.Errorf("gen: Step %v must be positive", o.Step)
	}
	if o.Hostname == "" {
		o.Hostname = DefaultHostname
	}
	if strings.ContainsAny(o.Hostname, " \n") || strings.ContainsAny(o.Host, " \n\"") {
		return o, fmt.Errorf("gen: Host %q and Hostname %q must not hold spaces, quotes or newlines", o.Host, o.Hostname)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// runDefaults validates the options Run needs beyond the generator's.
func (o Options) runDefaults() (Options, error) {
	o, err := o.withDefaults()
	if err != nil {
		return o, err
	}
	if o.Count < 0 || o.Duration < 0 {
		return o, fmt.Errorf("gen: Count %d and Duration %v must not be negative", o.Count, o.Duration)
	}
	if o.Count == 0 && o.Duration == 0 {
		return o, fmt.Errorf("gen: set Count or Duration (or both: whichever comes first)")
	}
	if o.Out == "" {
		o.Out = "-"
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Batch < 1 || o.Batch > 1_000_000 {
		return o, fmt.Errorf("gen: Batch %d out of range [1, 1000000]", o.Batch)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < 0 {
		return o, fmt.Errorf("gen: Timeout %v must be positive", o.Timeout)
	}
	switch o.Format {
	case "":
		o.Format = FormatLines
	case FormatLines, FormatPulse, FormatLogplex:
	default:
		return o, fmt.Errorf("gen: unknown format %q (lines, pulse or logplex)", o.Format)
	}
	if o.Format != FormatLines && !isHTTP(o.Out) {
		return o, fmt.Errorf("gen: format %q is for HTTP outputs only", o.Format)
	}
	return o, nil
}

func isHTTP(out string) bool {
	return strings.HasPrefix(out, "http://") || strings.HasPrefix(out, "https://")
}
