package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"pulse/inputs"
)

// Input types, formats of an http input and start_at positions of a file
// input; the formats and positions are the inputs package's.
const (
	InputFile   = "file"
	InputStdin  = "stdin"
	InputHTTP   = "http"
	InputSyslog = "syslog"

	FormatPulse   = inputs.FormatPulse
	FormatLines   = inputs.FormatLines
	FormatNDJSON  = inputs.FormatNDJSON
	FormatLogplex = inputs.FormatLogplex

	StartAtBeginning = inputs.StartAtBeginning
	StartAtEnd       = inputs.StartAtEnd
)

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

	// kafka (config/inputs_kafka.go)
	Kafka KafkaInput `yaml:",inline"`
}

func (in *Input) validate(ck *checker, p string) {
	in.validateKafka(ck, p)
	switch in.Type {
	case InputKafka: // validateKafka
	case InputFile:
		if len(in.Paths) == 0 {
			ck.addf(p+".paths", "a file input needs at least one path")
		}
		for j, g := range in.Paths {
			if _, err := filepath.Match(g, ""); err != nil || g == "" {
				ck.addf(fmt.Sprintf("%s.paths[%d]", p, j), "bad glob pattern %q", g)
			}
		}
		if !oneOf(in.StartAt, StartAtBeginning, StartAtEnd) {
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
		ck.addf(p+".type", "must be set (file, stdin, http, syslog or kafka)")
	default:
		ck.addf(p+".type", "unknown input type %q (want file, stdin, http, syslog or kafka)", in.Type)
	}
	if in.Type != InputHTTP && in.Type != InputKafka {
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
