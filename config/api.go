package config

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"pulse/api"
	"pulse/outputs/postgres"
)

// API configures `pulse api`: the read-only Metrics API and its dashboard
// over the postgres output's tables — or, on a machine without a
// database, over the snapshot files of a merger's file output. Exactly
// one of output, shards and snapshot_dirs says where the data is.
//
//	api:
//	  listen: 127.0.0.1:8480
//	  token_file: /etc/pulse/api-token   # or token: ...; required off loopback
//	  output: metrics-db                 # a postgres output of this file: its shards, schema, tls
//	  # shards: [postgres://pulse@db1/metrics, ...]   # or these, with schema: and tls:
//	  # snapshot_dirs: [/var/lib/pulse/snapshots]     # or a file output's directories
//	  max_points: 1440                   # steps per series
//	  max_range: 168h                    # to - from
//	  max_rows: 200000                   # stored windows one query may read
//	  timeout: 10s                       # per request; the statement_timeout too
//	  status:                            # admin endpoints the dashboard shows
//	    - {name: agent-1, url: "http://10.0.0.5:8470"}
type API struct {
	Listen       string      `yaml:"listen,omitempty"`
	Token        string      `yaml:"token,omitempty"`
	TokenFile    string      `yaml:"token_file,omitempty"`
	Output       string      `yaml:"output,omitempty"`
	Shards       []string    `yaml:"shards,omitempty"`
	Schema       string      `yaml:"schema,omitempty"`
	TLS          *TLS        `yaml:"tls,omitempty"`
	SnapshotDirs []string    `yaml:"snapshot_dirs,omitempty"`
	MaxPoints    int         `yaml:"max_points,omitempty"`
	MaxRange     Duration    `yaml:"max_range,omitempty"`
	MaxRows      int         `yaml:"max_rows,omitempty"`
	Timeout      Duration    `yaml:"timeout,omitempty"`
	Status       []APIStatus `yaml:"status,omitempty"`
}

// APIStatus is an agent's or merger's admin endpoint shown on the
// dashboard.
type APIStatus struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"` // http://host:port of its admin listener
}

// Bounds of the api: section's limits.
const (
	maxAPIPoints  = 100_000
	maxAPIRows    = 10_000_000
	maxAPIRange   = Duration(400 * 24 * time.Hour)
	maxAPITimeout = Duration(10 * time.Minute)
)

// setDefaults fills the api: section's unset fields with the api
// package's defaults.
func (a *API) setDefaults() {
	if a.Listen == "" {
		a.Listen = api.DefaultListen
	}
	if len(a.Shards) > 0 && a.Schema == "" {
		a.Schema = postgres.DefaultSchema
	}
	if a.MaxPoints == 0 {
		a.MaxPoints = api.DefaultMaxPoints
	}
	if a.MaxRange == 0 {
		a.MaxRange = Duration(api.DefaultMaxRange)
	}
	if a.MaxRows == 0 {
		a.MaxRows = api.DefaultMaxRows
	}
	if a.Timeout == 0 {
		a.Timeout = Duration(api.DefaultTimeout)
	}
}

// validate checks the api: section; c is the whole file, whose outputs
// api.output may name.
func (a *API) validate(ck *checker, c *Config) {
	if err := checkHostPort(a.Listen); err != nil {
		ck.addf("api.listen", "%v", err)
	}
	sources := 0
	for _, set := range []bool{a.Output != "", len(a.Shards) > 0, len(a.SnapshotDirs) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		ck.addf("api", "exactly one of output (a postgres output of this file), shards (DSNs) or snapshot_dirs, not %d", sources)
	}
	if a.Output != "" {
		i := slices.IndexFunc(c.Outputs, func(o Output) bool { return o.Name == a.Output })
		switch {
		case i < 0:
			ck.addf("api.output", "%q: no output of that name in this file", a.Output)
		case c.Outputs[i].Type != OutputPostgres:
			ck.addf("api.output", "%q is a %s output: the API reads a postgres output's shards", a.Output, c.Outputs[i].Type)
		}
	}
	for j, dsn := range a.Shards {
		if err := postgres.CheckDSN(dsn); err != nil {
			ck.addf(fmt.Sprintf("api.shards[%d]", j), "%v", err)
		}
	}
	if len(a.Shards) > 0 {
		if err := postgres.CheckSchema(a.Schema); err != nil {
			ck.addf("api.schema", "%v", err)
		}
		checkClientTLS(ck, "api.tls", a.TLS)
	} else {
		if a.Schema != "" {
			ck.addf("api.schema", "only with shards (an output's schema is its own)")
		}
		if a.TLS != nil {
			ck.addf("api.tls", "only with shards (an output's tls is its own)")
		}
	}
	for j, d := range a.SnapshotDirs {
		if d == "" {
			ck.addf(fmt.Sprintf("api.snapshot_dirs[%d]", j), "must not be empty")
		}
	}
	switch {
	case a.Token != "" && a.TokenFile != "":
		ck.addf("api.token", "token or token_file, not both")
	case a.TokenFile != "":
		if _, err := os.Stat(a.TokenFile); err != nil {
			ck.addf("api.token_file", "%v", err)
		}
	case a.Token == "" && !loopback(a.Listen):
		ck.addf("api.token", "required when listen (%s) is not a loopback address: the API would serve every metric to anyone", a.Listen)
	}
	if a.MaxPoints < 1 || a.MaxPoints > maxAPIPoints {
		ck.addf("api.max_points", "must be between 1 and %d", maxAPIPoints)
	}
	if a.MaxRange < Duration(time.Minute) || a.MaxRange > maxAPIRange {
		ck.addf("api.max_range", "must be between 1m and %v", maxAPIRange)
	}
	if a.MaxRows < 1 || a.MaxRows > maxAPIRows {
		ck.addf("api.max_rows", "must be between 1 and %d", maxAPIRows)
	}
	if a.Timeout < Duration(10*time.Millisecond) || a.Timeout > maxAPITimeout {
		ck.addf("api.timeout", "must be between 10ms and %v", maxAPITimeout)
	}
	names := map[string]bool{}
	for j, s := range a.Status {
		p := fmt.Sprintf("api.status[%d]", j)
		if s.Name == "" || names[s.Name] {
			ck.addf(p+".name", "%q: must be set and unique", s.Name)
		}
		names[s.Name] = true
		if !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
			ck.addf(p+".url", "%q: want http://host:port (the admin listener)", s.URL)
		}
	}
}

// loopback reports whether a listen address only takes local connections.
func loopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseAPI decodes and checks a configuration for `pulse api`: it must
// have an api: section. A file that is a whole agent or merger config (it
// has inputs or outputs) is checked whole, so that api.output can name
// one of its outputs; a file of its own needs only api: (and log:).
func ParseAPI(name string, data []byte) (*Config, error) {
	return parse(name, data, func(c *Config) error {
		if c.API == nil {
			return Errors{{Path: "api", Msg: "missing: pulse api reads its api: section"}}
		}
		if len(c.Inputs) > 0 || len(c.Outputs) > 0 {
			return c.Validate()
		}
		var ck checker
		c.validateLog(&ck)
		c.API.validate(&ck, c)
		if len(ck.errs) == 0 {
			return nil
		}
		return ck.errs
	})
}

// LoadAPI reads file and returns ParseAPI's configuration.
func LoadAPI(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseAPI(file, data)
}
