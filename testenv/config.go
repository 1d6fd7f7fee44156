package testenv

import (
	"fmt"
	"strings"
	"time"
)

// Config is an agent's or a merger's config for tests. YAML renders it the
// way StartAgent and StartMerger take it: data_dir is their %[1]s.
type Config struct {
	ID      string   // default: the hostname
	Admin   string   // the admin endpoint's host:port; default off
	Inputs  []string // items of inputs:, from FileInput, HTTPInput
	Outputs []string // items of outputs:, from HTTPOutput.YAML, FileOutput
	// Extra is more top-level YAML, verbatim: metrics:, merge:,
	// shutdown_timeout:.
	Extra string
}

// YAML renders the config. A % in it is escaped for StartAgent's
// formatting, so paths may hold one.
func (c Config) YAML() string {
	var b strings.Builder
	if c.ID != "" {
		fmt.Fprintf(&b, "id: %s\n", escapePercent(quote(c.ID)))
	}
	b.WriteString("data_dir: \"%[1]s\"\n")
	admin := c.Admin
	if admin == "" {
		admin = "off"
	}
	fmt.Fprintf(&b, "admin: {listen: %s}\n", escapePercent(quote(admin)))
	if c.Extra != "" {
		b.WriteString(escapePercent(strings.TrimRight(c.Extra, "\n")) + "\n")
	}
	b.WriteString("inputs:\n")
	for _, in := range c.Inputs {
		b.WriteString(escapePercent(in))
	}
	b.WriteString("outputs:\n")
	for _, out := range c.Outputs {
		b.WriteString(escapePercent(out))
	}
	return b.String()
}

// FileInput is an inputs: item tailing paths from their beginning, polled
// often so that tests need not wait.
func FileInput(name string, paths ...string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = quote(p)
	}
	return fmt.Sprintf("  - {name: %s, type: file, paths: [%s], poll_interval: 20ms}\n", quote(name), strings.Join(q, ", "))
}

// HTTPInput is an inputs: item listening on addr for batches in format
// (pulse, lines, ndjson), pushing back after 500 ms of a full buffer.
func HTTPInput(name, addr, format string) string {
	return fmt.Sprintf("  - {name: %s, type: http, listen: %s, format: %s, push_back_after: 500ms}\n", quote(name), quote(addr), format)
}

// FileOutput is an outputs: item writing the events stream to rotated
// files in dir.
func FileOutput(name, dir string) string {
	return fmt.Sprintf("  - {name: %s, type: file, path: %s}\n", quote(name), quote(dir))
}

// HTTPOutput is an http output with settings that suit tests: short
// timeouts and retries, small batches sent soon. Zero fields take the
// defaults documented on each.
type HTTPOutput struct {
	Name        string
	Stream      string   // events (default) or fragments
	Endpoints   []string // the cluster: host:port of each node
	Encoding    string   // default pulse
	Compression string   // default: the agent's (zstd)
	Balance     string   // default least_loaded
	MaxInFlight int      // batches in flight per node; default: the agent's
	Timeout     time.Duration
	RetryMax    time.Duration // default 300ms
	MaxEvents   int           // per batch; default 2000
	MaxWait     time.Duration // a batch's age when it is sent; default 50ms
	BufferBytes int64         // the buffer's cap; default 64 MiB
	WhenFull    string        // default block
}

// Defaults of HTTPOutput.
const (
	DefaultOutputTimeout  = 5 * time.Second
	DefaultOutputRetryMax = 300 * time.Millisecond
	DefaultOutputBuffer   = 64 << 20
)

// YAML renders the output as an item of outputs:.
func (o HTTPOutput) YAML() string {
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	dur := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	eps := make([]string, len(o.Endpoints))
	for i, e := range o.Endpoints {
		eps[i] = quote(e)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n", quote(o.Name))
	fmt.Fprintf(&b, "    stream: %s\n", def(o.Stream, "events"))
	b.WriteString("    type: http\n")
	fmt.Fprintf(&b, "    endpoints: [%s]\n", strings.Join(eps, ", "))
	fmt.Fprintf(&b, "    encoding: %s\n", def(o.Encoding, "pulse"))
	if o.Compression != "" {
		fmt.Fprintf(&b, "    compression: %s\n", o.Compression)
	}
	fmt.Fprintf(&b, "    balance: %s\n", def(o.Balance, "least_loaded"))
	if o.MaxInFlight > 0 {
		fmt.Fprintf(&b, "    max_in_flight: %d\n", o.MaxInFlight)
	}
	fmt.Fprintf(&b, "    timeout: %v\n", dur(o.Timeout, DefaultOutputTimeout))
	fmt.Fprintf(&b, "    retry_max: %v\n", dur(o.RetryMax, DefaultOutputRetryMax))
	maxEvents := o.MaxEvents
	if maxEvents <= 0 {
		maxEvents = 2000
	}
	fmt.Fprintf(&b, "    batch: {max_events: %d, max_bytes: 1MiB, max_wait: %v}\n", maxEvents, dur(o.MaxWait, 50*time.Millisecond))
	buffer := o.BufferBytes
	if buffer <= 0 {
		buffer = DefaultOutputBuffer
	}
	fmt.Fprintf(&b, "    buffer: {max_bytes: %d, when_full: %s}\n", buffer, def(o.WhenFull, "block"))
	return b.String()
}

// quote renders s as a YAML double-quoted scalar.
func quote(s string) string { return fmt.Sprintf("%q", s) }

func escapePercent(s string) string { return strings.ReplaceAll(s, "%", "%%") }
