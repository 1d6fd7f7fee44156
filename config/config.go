// Package config holds Pulse's YAML configuration: its schema, defaults and
// validation. Errors name the file, the line and the field.
package config

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
	API             *API     `yaml:"api,omitempty"`     // pulse api: the Metrics API (api.go)
}

// Log configures the agent's own log.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

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
