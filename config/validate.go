package config

import (
	"fmt"
	"os"
	"strings"
)

// Limits enforced by Validate.
const (
	MinBufferBytes = 16 * MiB
	MaxBatchBytes  = 256 * MiB
)

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
	c.validateLog(&ck)
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
		c.Merge.validate(&ck)
		c.validateKafkaMerger(&ck) // merge_kafka.go
	}
	if c.API != nil {
		c.API.validate(&ck, c) // api.go
	}
	if len(ck.errs) == 0 {
		return nil
	}
	return ck.errs
}

func (c *Config) validateLog(ck *checker) {
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		ck.addf("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		ck.addf("log.format", "must be text or json, not %q", c.Log.Format)
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

// set is one field of a type's own block: its key, and whether the config
// sets it.
type set struct {
	key string
	on  bool
}

// onlyFor names each field that is set although it belongs to outputs or
// inputs of another type ("only for kafka outputs").
func (c *checker) onlyFor(p, what string, fields ...set) {
	for _, f := range fields {
		if f.on {
			c.addf(p+"."+f.key, "only for %s", what)
		}
	}
}
