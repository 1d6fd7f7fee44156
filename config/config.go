// Package config holds Pulse's YAML configuration: its schema, defaults and
// validation. Errors name the file, the line and the field.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the whole configuration of an agent.
type Config struct {
	ID              string   `yaml:"id"`               // default: hostname
	DataDir         string   `yaml:"data_dir"`         // buffers, checkpoints, dead letters
	ShutdownTimeout Duration `yaml:"shutdown_timeout"` // how long outputs may drain at exit
	Log             Log      `yaml:"log"`
	Admin           Admin    `yaml:"admin"`
	Inputs          []Input  `yaml:"inputs"`
	Outputs         []Output `yaml:"outputs"`
	Metrics         *Metrics `yaml:"metrics,omitempty"` // agent: events → fragments
	Merge           *Merge   `yaml:"merge,omitempty"`   // merger: fragments → snapshots
}

// Metrics configures the agent's roll-up of events into fragments, sent on
// the fragments stream.
type Metrics struct {
	Window      Duration `yaml:"window"`       // aligned to the wall clock
	LateWindows int      `yaml:"late_windows"` // past windows still accepted
	L2met       bool     `yaml:"l2met"`        // count#, measure#, sample#, unique# keys become metrics
	Rules       []Rule   `yaml:"rules,omitempty"`
}

// Rule derives a metric from events whose fields match.
type Rule struct {
	Name    string            `yaml:"name"`
	Match   map[string]string `yaml:"match,omitempty"` // field equality; "*" = present
	Value   string            `yaml:"value,omitempty"` // numeric field, units parsed (37ms); empty for counter: 1 per event
	Kind    string            `yaml:"kind"`            // counter | measure | sample | unique
	GroupBy []string          `yaml:"group_by,omitempty"`
	Unit    string            `yaml:"unit,omitempty"` // default: the value's own unit
}

// Merge configures a merger.
type Merge struct {
	Interval      Duration `yaml:"interval"`       // how often snapshots are emitted
	FinalizeAfter Duration `yaml:"finalize_after"` // how long a window stays open after its end
}

// Log configures the agent's own log.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Input types and formats.
const (
	InputFile   = "file"
	InputStdin  = "stdin"
	InputHTTP   = "http"
	InputSyslog = "syslog"

	FormatPulse   = "pulse"
	FormatLines   = "lines"
	FormatNDJSON  = "ndjson"
	FormatLogplex = "logplex"
)

// TLS holds certificate settings. On an http input, cert_file and key_file
// make it serve HTTPS. On an http output, ca_file verifies the servers and
// cert_file/key_file present a client certificate.
type TLS struct {
	CAFile             string `yaml:"ca_file,omitempty"`
	CertFile           string `yaml:"cert_file,omitempty"`
	KeyFile            string `yaml:"key_file,omitempty"`
	ServerName         string `yaml:"server_name,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify,omitempty"`
}

// Input is one source of events.
type Input struct {
	Name         string   `yaml:"name"`
	Type         string   `yaml:"type"` // file | stdin
	Paths        []string `yaml:"paths,omitempty"`
	StartAt      string   `yaml:"start_at,omitempty"` // beginning | end
	MaxLineBytes Size     `yaml:"max_line_bytes"`
	PollInterval Duration `yaml:"poll_interval,omitempty"`
	Parse        string   `yaml:"parse,omitempty"` // logfmt | json | syslog | router: count events that do not parse

	// http
	Listen        string   `yaml:"listen,omitempty"`
	Format        string   `yaml:"format,omitempty"` // pulse | lines | ndjson
	MaxBodyBytes  Size     `yaml:"max_body_bytes,omitempty"`
	AuthToken     string   `yaml:"auth_token,omitempty"`
	PushBackAfter Duration `yaml:"push_back_after,omitempty"`
	TLS           *TLS     `yaml:"tls,omitempty"`
	BasicAuth     string   `yaml:"basic_auth,omitempty"`   // logplex: "user:password", as drain URLs carry it
	DedupWindow   Duration `yaml:"dedup_window,omitempty"` // logplex: how long a Logplex-Frame-Id is remembered

	// syslog (listen: tcp://host:port or udp://host:port)
	MaxMessageBytes Size     `yaml:"max_message_bytes,omitempty"`
	IdleTimeout     Duration `yaml:"idle_timeout,omitempty"`
	MaxConnections  int      `yaml:"max_connections,omitempty"`
}

// Output types, streams and encodings.
const (
	OutputHTTP = "http"
	OutputFile = "file"

	StreamEvents    = "events"
	StreamFragments = "fragments"
	StreamSnapshots = "snapshots"

	EncodingLines  = "lines"
	EncodingNDJSON = "ndjson"
	EncodingPulse  = "pulse"

	BalanceRoundRobin  = "round_robin"
	BalanceLeastLoaded = "least_loaded"
	BalanceHash        = "hash"
)

// Output is one destination, with its own batches and its own disk buffer.
type Output struct {
	Name     string `yaml:"name"`
	Stream   string `yaml:"stream"` // events
	Type     string `yaml:"type"`   // http | file
	Encoding string `yaml:"encoding"`
	// Compression of pulse-encoded batches, on disk and on the wire: zstd
	// (default; smallest), s2 (a third of zstd's CPU, ~1.7x the bytes) or
	// none.
	Compression string `yaml:"compression,omitempty"`

	// http
	Endpoints   []string `yaml:"endpoints,omitempty"`
	Balance     string   `yaml:"balance,omitempty"`      // round_robin | least_loaded | hash
	HashField   string   `yaml:"hash_field,omitempty"`   // balance: hash — the event field whose value picks the node
	HashBuckets int      `yaml:"hash_buckets,omitempty"` // balance: hash — key buckets, each batched on its own
	// HashFailover (balance: hash; default true) sends a key's batches on
	// to the next node while its own is out. false keeps them for their
	// node, waiting in the buffer: merger shards never split a key's
	// window, and the whole output slows to the missing node meanwhile.
	HashFailover *bool    `yaml:"hash_failover,omitempty"`
	Timeout      Duration `yaml:"timeout,omitempty"`       // per request
	MaxInFlight  int      `yaml:"max_in_flight,omitempty"` // batches in flight per node
	RetryInitial Duration `yaml:"retry_initial,omitempty"`
	RetryMax     Duration `yaml:"retry_max,omitempty"`
	AuthToken    string   `yaml:"auth_token,omitempty"` // sent as Authorization: Bearer
	TLS          *TLS     `yaml:"tls,omitempty"`

	// file
	Path         string `yaml:"path,omitempty"`
	MaxFileBytes Size   `yaml:"max_file_bytes,omitempty"`
	MaxFiles     int    `yaml:"max_files,omitempty"`

	Batch  Batch  `yaml:"batch"`
	Buffer Buffer `yaml:"buffer"`
}

// Batch bounds the batches an output sends.
type Batch struct {
	MaxEvents int      `yaml:"max_events"`
	MaxBytes  Size     `yaml:"max_bytes"`
	MaxWait   Duration `yaml:"max_wait"`
}

// Buffer policies.
const (
	WhenFullBlock      = "block"
	WhenFullDropOldest = "drop_oldest"
	WhenFullDropNewest = "drop_newest"
)

// Buffer fsync modes: what a power loss may take (a kill -9 loses nothing
// acknowledged in any). See buffer.FsyncMode.
const (
	FsyncNever    = "never"    // the OS writes back when it will (~30 s on Linux)
	FsyncInterval = "interval" // at most every fsync_interval
	FsyncAlways   = "always"   // before the source is acknowledged
)

// Buffer configures an output's disk buffer.
type Buffer struct {
	MaxBytes Size   `yaml:"max_bytes"`
	WhenFull string `yaml:"when_full"` // block | drop_oldest | drop_newest
	// Fsync (never | interval | always; default interval) and
	// FsyncInterval (default 500ms) say when the buffer forces its writes
	// to stable storage.
	Fsync         string   `yaml:"fsync,omitempty"`
	FsyncInterval Duration `yaml:"fsync_interval,omitempty"`
}

// Limits enforced by Validate.
const (
	MinBufferBytes = 16 * MiB
	MaxBatchBytes  = 256 * MiB
)

// SetDefaults fills every unset field with its default.
func (c *Config) SetDefaults() {
	if c.ID == "" {
		c.ID, _ = os.Hostname()
	}
	if c.DataDir == "" {
		c.DataDir = "./pulse-data"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = Duration(10 * time.Second)
	}
	if c.Admin.Listen == "" {
		c.Admin.Listen, c.Admin.Default = DefaultAdminListen, true
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	for i := range c.Inputs {
		in := &c.Inputs[i]
		if in.Type == InputFile && in.StartAt == "" {
			in.StartAt = "beginning"
		}
		if in.MaxLineBytes == 0 {
			in.MaxLineBytes = 64 * KiB
		}
		if in.Type == InputFile && in.PollInterval == 0 {
			in.PollInterval = Duration(200 * time.Millisecond)
		}
		if in.Type == InputHTTP {
			if in.Format == "" {
				in.Format = FormatPulse
			}
			if in.MaxBodyBytes == 0 {
				in.MaxBodyBytes = 64 * MiB
			}
			if in.PushBackAfter == 0 {
				in.PushBackAfter = Duration(2 * time.Second)
			}
		}
	}
	if m := c.Metrics; m != nil {
		if m.Window == 0 {
			m.Window = Duration(10 * time.Second)
		}
		if m.LateWindows == 0 {
			m.LateWindows = 30
		}
	}
	if m := c.Merge; m != nil {
		if m.Interval == 0 {
			m.Interval = Duration(10 * time.Second)
		}
		if m.FinalizeAfter == 0 {
			m.FinalizeAfter = Duration(6 * time.Minute)
		}
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		if o.Stream == "" {
			o.Stream = StreamEvents
			if c.Merge != nil {
				o.Stream = StreamSnapshots
			}
		}
		if o.Encoding == "" {
			o.Encoding = EncodingLines
		}
		if o.Type == OutputHTTP {
			if o.Timeout == 0 {
				o.Timeout = Duration(10 * time.Second)
			}
			if o.MaxInFlight == 0 {
				o.MaxInFlight = 2
			}
			if o.Balance == "" {
				o.Balance = BalanceRoundRobin
			}
			if o.Balance == BalanceHash && o.HashBuckets == 0 {
				o.HashBuckets = 16
			}
			if o.RetryInitial == 0 {
				o.RetryInitial = Duration(100 * time.Millisecond)
			}
			if o.RetryMax == 0 {
				o.RetryMax = Duration(30 * time.Second)
			}
		}
		if o.Type == OutputFile {
			if o.Path == "" {
				o.Path = filepath.Join(c.DataDir, "out", o.Name)
			}
			if o.MaxFileBytes == 0 {
				o.MaxFileBytes = 64 * MiB
			}
		}
		if o.Batch.MaxEvents == 0 {
			o.Batch.MaxEvents = 5000
		}
		if o.Batch.MaxBytes == 0 {
			o.Batch.MaxBytes = 1 * MiB
		}
		if o.Batch.MaxWait == 0 {
			o.Batch.MaxWait = Duration(200 * time.Millisecond)
		}
		if o.Buffer.MaxBytes == 0 {
			o.Buffer.MaxBytes = 256 * MiB
		}
		if o.Buffer.WhenFull == "" {
			o.Buffer.WhenFull = WhenFullBlock
		}
		if o.Buffer.Fsync == "" {
			o.Buffer.Fsync = FsyncInterval
		}
		if o.Buffer.FsyncInterval == 0 {
			o.Buffer.FsyncInterval = Duration(500 * time.Millisecond)
		}
	}
}

// FieldError is one problem with one field, named by its path in the file
// ("outputs[1].buffer.max_bytes").
type FieldError struct {
	Path string
	Msg  string
	Line int // filled in by Load when the file is known
	File string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
		if e.Line > 0 {
			fmt.Fprintf(&b, "%d:", e.Line)
		}
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

type checker struct{ errs Errors }

func (c *checker) addf(path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// Validate checks the configuration (after SetDefaults) and returns Errors
// naming every bad field, or nil.
func (c *Config) Validate() error {
	var ck checker
	if c.DataDir == "" {
		ck.addf("data_dir", "must be set")
	}
	if c.ShutdownTimeout < 0 {
		ck.addf("shutdown_timeout", "must not be negative")
	}
	if c.Admin.Listen != AdminOff {
		if err := checkHostPort(c.Admin.Listen); err != nil {
			ck.addf("admin.listen", "%v (or off)", err)
		}
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		ck.addf("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		ck.addf("log.format", "must be text or json, not %q", c.Log.Format)
	}
	if len(c.Inputs) == 0 {
		ck.addf("inputs", "at least one input is required")
	}
	if len(c.Outputs) == 0 {
		ck.addf("outputs", "at least one output is required")
	}
	names := map[string]string{}
	stdin := 0
	for i := range c.Inputs {
		p := fmt.Sprintf("inputs[%d]", i)
		c.Inputs[i].validate(&ck, p)
		checkName(&ck, names, p, c.Inputs[i].Name)
		if c.Inputs[i].Type == InputStdin {
			stdin++
			if stdin == 2 {
				ck.addf(p+".type", "only one stdin input is possible")
			}
		}
	}
	for i := range c.Outputs {
		p := fmt.Sprintf("outputs[%d]", i)
		c.Outputs[i].validate(&ck, p)
		checkName(&ck, names, p, c.Outputs[i].Name)
		switch s := c.Outputs[i].Stream; {
		case s == StreamFragments && c.Metrics == nil:
			ck.addf(p+".stream", "a fragments output needs a metrics: section")
		case s == StreamSnapshots && c.Merge == nil:
			ck.addf(p+".stream", "snapshots come from a merger: add a merge: section")
		case s != StreamSnapshots && c.Merge != nil:
			ck.addf(p+".stream", "a merger's outputs carry snapshots, not %s", s)
		}
	}
	if c.Metrics != nil {
		c.Metrics.validate(&ck)
	}
	if c.Merge != nil {
		if c.Metrics != nil {
			ck.addf("merge", "a merger takes fragments, it does not make them: drop metrics: or merge:")
		}
		if c.Merge.Interval < Duration(10*time.Millisecond) {
			ck.addf("merge.interval", "must be ≥ 10ms")
		}
		if c.Merge.FinalizeAfter < c.Merge.Interval {
			ck.addf("merge.finalize_after", "must be ≥ merge.interval")
		}
	}
	if len(ck.errs) == 0 {
		return nil
	}
	return ck.errs
}

func (m *Metrics) validate(ck *checker) {
	if m.Window < Duration(time.Second) || time.Hour%m.Window.D() != 0 {
		ck.addf("metrics.window", "must be ≥ 1s and divide an hour evenly (10s, 1m, …), not %v", m.Window)
	}
	if m.LateWindows < 0 || m.LateWindows > 10000 {
		ck.addf("metrics.late_windows", "must be between 0 and 10000")
	}
	if !m.L2met && len(m.Rules) == 0 {
		ck.addf("metrics", "no metrics: enable l2met or add rules")
	}
	seen := map[string]bool{}
	for i, r := range m.Rules {
		p := fmt.Sprintf("metrics.rules[%d]", i)
		switch {
		case r.Name == "":
			ck.addf(p+".name", "must be set")
		case seen[r.Name]:
			ck.addf(p+".name", "%q is used by an earlier rule", r.Name)
		}
		seen[r.Name] = true
		switch r.Kind {
		case "counter":
		case "measure", "sample", "unique":
			if r.Value == "" {
				ck.addf(p+".value", "a %s needs the field holding its value", r.Kind)
			}
		case "":
			ck.addf(p+".kind", "must be set (counter, measure, sample or unique)")
		default:
			ck.addf(p+".kind", "must be counter, measure, sample or unique, not %q", r.Kind)
		}
		if len(r.GroupBy) > 16 {
			ck.addf(p+".group_by", "at most 16 dimensions")
		}
	}
}

func checkName(ck *checker, seen map[string]string, path, name string) {
	switch {
	case name == "":
		ck.addf(path+".name", "must be set")
	case strings.ContainsAny(name, `/\ .`) || strings.HasPrefix(name, "-"):
		ck.addf(path+".name", "%q: use letters, digits, '-' and '_' only (it names files)", name)
	case seen[name] != "":
		ck.addf(path+".name", "%q is already used by %s", name, seen[name])
	default:
		seen[name] = path
	}
}

func (in *Input) validate(ck *checker, p string) {
	switch in.Type {
	case InputFile:
		if len(in.Paths) == 0 {
			ck.addf(p+".paths", "a file input needs at least one path")
		}
		for j, g := range in.Paths {
			if _, err := filepath.Match(g, ""); err != nil || g == "" {
				ck.addf(fmt.Sprintf("%s.paths[%d]", p, j), "bad glob pattern %q", g)
			}
		}
		if !oneOf(in.StartAt, "beginning", "end") {
			ck.addf(p+".start_at", "must be beginning or end, not %q", in.StartAt)
		}
		if in.PollInterval < Duration(time.Millisecond) {
			ck.addf(p+".poll_interval", "must be ≥ 1ms")
		}
	case InputHTTP:
		if in.Listen == "" {
			ck.addf(p+".listen", "an http input needs listen: host:port")
		} else if err := checkHostPort(in.Listen); err != nil {
			ck.addf(p+".listen", "%v", err)
		}
		if !oneOf(in.Format, FormatPulse, FormatLines, FormatNDJSON, FormatLogplex) {
			ck.addf(p+".format", "must be pulse, lines, ndjson or logplex, not %q", in.Format)
		}
		if in.Format != FormatLogplex && (in.BasicAuth != "" || in.DedupWindow != 0) {
			ck.addf(p+".basic_auth", "basic_auth and dedup_window are for format: logplex")
		}
		if in.MaxBodyBytes < KiB || in.MaxBodyBytes > 1*GiB {
			ck.addf(p+".max_body_bytes", "must be between 1KiB and 1GiB")
		}
		if in.PushBackAfter < 0 {
			ck.addf(p+".push_back_after", "must not be negative")
		}
		if in.TLS != nil {
			if in.TLS.CertFile == "" || in.TLS.KeyFile == "" {
				ck.addf(p+".tls", "an http input serving TLS needs cert_file and key_file")
			}
			checkFiles(ck, p+".tls", in.TLS)
		}
		if len(in.Paths) > 0 {
			ck.addf(p+".paths", "only for file inputs")
		}
	case InputSyslog:
		if !strings.HasPrefix(in.Listen, "tcp://") && !strings.HasPrefix(in.Listen, "udp://") {
			ck.addf(p+".listen", "a syslog input listens on tcp://host:port or udp://host:port, not %q", in.Listen)
		} else if err := checkHostPort(in.Listen[len("tcp://"):]); err != nil {
			ck.addf(p+".listen", "%v", err)
		}
		if in.MaxMessageBytes < 0 || in.MaxMessageBytes > 16*MiB {
			ck.addf(p+".max_message_bytes", "must be at most 16MiB")
		}
		if in.MaxConnections < 0 {
			ck.addf(p+".max_connections", "must not be negative")
		}
	case InputStdin:
		if len(in.Paths) > 0 {
			ck.addf(p+".paths", "only for file inputs")
		}
		if in.StartAt != "" {
			ck.addf(p+".start_at", "only for file inputs")
		}
	case "":
		ck.addf(p+".type", "must be set (file, stdin, http or syslog)")
	default:
		ck.addf(p+".type", "unknown input type %q (want file, stdin, http or syslog)", in.Type)
	}
	if in.Type != InputHTTP {
		if in.Listen != "" && in.Type != InputSyslog {
			ck.addf(p+".listen", "only for http and syslog inputs")
		}
		if in.Format != "" {
			ck.addf(p+".format", "only for http inputs")
		}
		if in.TLS != nil {
			ck.addf(p+".tls", "only for http inputs")
		}
	}
	if !oneOf(in.Parse, "", "logfmt", "json", "syslog", "router") {
		ck.addf(p+".parse", "must be logfmt, json, syslog or router, not %q", in.Parse)
	}
	if in.MaxLineBytes < 16 || in.MaxLineBytes > 64*MiB {
		ck.addf(p+".max_line_bytes", "must be between 16 and 64MiB, not %v", in.MaxLineBytes)
	}
}

func (o *Output) validate(ck *checker, p string) {
	if !oneOf(o.Stream, StreamEvents, StreamFragments, StreamSnapshots) {
		ck.addf(p+".stream", "unknown stream %q (want events, fragments or snapshots)", o.Stream)
	}
	if o.Stream == StreamFragments && o.Encoding != EncodingPulse {
		ck.addf(p+".encoding", "fragments travel in the pulse encoding only")
	}
	if !oneOf(o.Encoding, EncodingLines, EncodingNDJSON, EncodingPulse) {
		ck.addf(p+".encoding", "unknown encoding %q (want lines, ndjson or pulse)", o.Encoding)
	}
	switch {
	case !oneOf(o.Compression, "", "zstd", "s2", "none"):
		ck.addf(p+".compression", "unknown compression %q (want zstd, s2 or none)", o.Compression)
	case o.Compression != "" && o.Encoding != EncodingPulse:
		ck.addf(p+".compression", "applies to the pulse encoding only (this output's encoding is %s)", o.Encoding)
	case o.Compression == "s2" && o.Type == OutputFile:
		// S2 blocks do not delimit themselves, unlike zstd frames.
		ck.addf(p+".compression", "s2 is for http outputs; a file output takes zstd or none")
	}
	switch o.Type {
	case OutputHTTP:
		if len(o.Endpoints) == 0 {
			ck.addf(p+".endpoints", "an http output needs at least one endpoint")
		}
		for j, e := range o.Endpoints {
			if err := checkEndpoint(e); err != nil {
				ck.addf(fmt.Sprintf("%s.endpoints[%d]", p, j), "%v", err)
			}
		}
		if o.Timeout < Duration(time.Millisecond) {
			ck.addf(p+".timeout", "must be ≥ 1ms")
		}
		if o.MaxInFlight < 1 || o.MaxInFlight > 1024 {
			ck.addf(p+".max_in_flight", "must be between 1 and 1024")
		}
		switch o.Balance {
		case BalanceRoundRobin, BalanceLeastLoaded:
			if o.HashField != "" || o.HashBuckets != 0 {
				ck.addf(p+".hash_field", "only with balance: hash")
			}
			if o.HashFailover != nil {
				ck.addf(p+".hash_failover", "only with balance: hash")
			}
		case BalanceHash:
			if o.HashField == "" && o.Stream == StreamEvents {
				ck.addf(p+".hash_field", "balance: hash needs the event field whose value picks the node")
			}
			if o.HashBuckets < 1 || o.HashBuckets > 4096 {
				ck.addf(p+".hash_buckets", "must be between 1 and 4096")
			}
		default:
			ck.addf(p+".balance", "must be round_robin, least_loaded or hash, not %q", o.Balance)
		}
		if o.TLS != nil {
			if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
				ck.addf(p+".tls", "cert_file and key_file go together")
			}
			checkFiles(ck, p+".tls", o.TLS)
		}
		if o.RetryInitial <= 0 || o.RetryMax < o.RetryInitial {
			ck.addf(p+".retry_max", "must be ≥ retry_initial (%v), and both > 0", o.RetryInitial)
		}
		if o.Path != "" {
			ck.addf(p+".path", "only for file outputs (use endpoints)")
		}
	case OutputFile:
		if len(o.Endpoints) > 0 {
			ck.addf(p+".endpoints", "only for http outputs (use path)")
		}
		for _, f := range []struct {
			key string
			set bool
		}{{"balance", o.Balance != ""}, {"hash_field", o.HashField != ""}, {"auth_token", o.AuthToken != ""}, {"tls", o.TLS != nil}} {
			if f.set {
				ck.addf(p+"."+f.key, "only for http outputs")
			}
		}
		if o.MaxFileBytes < 4*KiB {
			ck.addf(p+".max_file_bytes", "must be ≥ 4KiB")
		}
		if o.MaxFiles < 0 {
			ck.addf(p+".max_files", "must not be negative")
		}
	case "":
		ck.addf(p+".type", "must be set (http or file)")
	default:
		ck.addf(p+".type", "unknown output type %q (want http or file)", o.Type)
	}
	if o.Batch.MaxEvents < 1 {
		ck.addf(p+".batch.max_events", "must be ≥ 1")
	}
	if o.Batch.MaxBytes < 1*KiB || o.Batch.MaxBytes > MaxBatchBytes {
		ck.addf(p+".batch.max_bytes", "must be between 1KiB and %v", MaxBatchBytes)
	}
	if o.Batch.MaxWait < Duration(time.Millisecond) {
		ck.addf(p+".batch.max_wait", "must be ≥ 1ms")
	}
	if o.Buffer.MaxBytes < MinBufferBytes {
		ck.addf(p+".buffer.max_bytes", "must be ≥ %v", MinBufferBytes)
	} else if o.Buffer.MaxBytes < 4*o.Batch.MaxBytes {
		ck.addf(p+".buffer.max_bytes", "must hold at least 4 batches (4 × batch.max_bytes = %v)", 4*o.Batch.MaxBytes)
	}
	if !oneOf(o.Buffer.WhenFull, WhenFullBlock, WhenFullDropOldest, WhenFullDropNewest) {
		ck.addf(p+".buffer.when_full", "must be block, drop_oldest or drop_newest, not %q", o.Buffer.WhenFull)
	}
	if !oneOf(o.Buffer.Fsync, FsyncNever, FsyncInterval, FsyncAlways) {
		ck.addf(p+".buffer.fsync", "unknown mode %q (never | interval | always)", o.Buffer.Fsync)
	}
	if o.Buffer.FsyncInterval < Duration(time.Millisecond) {
		ck.addf(p+".buffer.fsync_interval", "must be ≥ 1ms")
	}
}

func checkHostPort(a string) error {
	if i := strings.LastIndexByte(a, ':'); i < 0 || i == len(a)-1 {
		return fmt.Errorf("%q: want host:port", a)
	}
	return nil
}

// checkFiles reports TLS files that cannot be read now: better at
// validation than at the first connection.
func checkFiles(ck *checker, p string, t *TLS) {
	for _, f := range []struct{ key, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			ck.addf(p+"."+f.key, "%v", err)
		}
	}
}

func checkEndpoint(e string) error {
	if e == "" {
		return fmt.Errorf("empty endpoint")
	}
	if strings.Contains(e, "://") {
		if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
			return fmt.Errorf("%q: scheme must be http or https", e)
		}
		return nil
	}
	if i := strings.LastIndexByte(e, ':'); i <= 0 || i == len(e)-1 {
		return fmt.Errorf("%q: want host:port or http(s)://host:port/path", e)
	}
	return nil
}
