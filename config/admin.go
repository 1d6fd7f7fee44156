package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// DefaultAdminListen is where the admin endpoint listens unless
// admin.listen says otherwise.
const DefaultAdminListen = "127.0.0.1:8470"

// AdminOff as admin.listen turns the admin endpoint off.
const AdminOff = "off"

// Admin configures the admin endpoint (/metrics, /health, /status). It is
// written as a map (admin: {listen: 127.0.0.1:9470}) or, shorter, as a
// scalar: admin: off (or false) turns it off, admin: HOST:PORT sets the
// address.
type Admin struct {
	Listen string `yaml:"listen"` // host:port, or "off"; default 127.0.0.1:8470

	// Default reports that listen was not written in the file. A busy
	// default port is then a warning — several agents on one host, one
	// admin endpoint — while a configured address that cannot be bound
	// stops the agent at start.
	Default bool `yaml:"-"`
}

// UnmarshalYAML implements yaml.Unmarshaler: the map form, or a scalar
// (off, false, no; on, true, yes for the default; else an address).
func (a *Admin) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Value {
		case "off", "Off", "OFF", "false", "False", "FALSE", "no", "No", "NO":
			a.Listen = AdminOff
		case "on", "On", "ON", "true", "True", "TRUE", "yes", "Yes", "YES", "":
			a.Listen = ""
		default:
			a.Listen = n.Value
		}
		return nil
	case yaml.MappingNode:
		// Node.Decode does not know about KnownFields: check the keys
		// here, in the decoder's words, so the error names the field.
		var te yaml.TypeError
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value != "listen" {
				te.Errors = append(te.Errors, fmt.Sprintf("line %d: field %s not found in type config.Admin", k.Line, k.Value))
			}
		}
		type plain Admin // without the method, so the map decodes as usual
		if err := n.Decode((*plain)(a)); err != nil {
			return err
		}
		if len(te.Errors) > 0 {
			return &te
		}
		return nil
	}
	return valueError(n, "want off, HOST:PORT or {listen: HOST:PORT}")
}
