package config

import (
	"strings"
	"testing"
)

func TestAdminForms(t *testing.T) {
	const rest = "inputs: [{name: in, type: stdin}]\noutputs: [{name: out, type: file, path: /tmp/o}]\n"
	tests := []struct {
		name    string
		admin   string // the admin: line, "" for none
		listen  string
		dflt    bool
		wantErr string
	}{
		{"absent", "", DefaultAdminListen, true, ""},
		{"off as the README writes it", "admin: off", AdminOff, false, ""},
		{"false", "admin: false", AdminOff, false, ""},
		{"no", "admin: no", AdminOff, false, ""},
		{"true is the default address", "admin: true", DefaultAdminListen, true, ""},
		{"scalar address", "admin: 127.0.0.1:9470", "127.0.0.1:9470", false, ""},
		{"map form", "admin: {listen: 127.0.0.1:9471}", "127.0.0.1:9471", false, ""},
		{"map form off", "admin: {listen: off}", AdminOff, false, ""},
		{"empty map is the default", "admin: {}", DefaultAdminListen, true, ""},
		{"unknown key in the map", "admin: {listen: off, port: 1}", "", false, `t.yaml:1: admin.port: unknown key "port"`},
		{"bad address", "admin: nowhere", "", false, `t.yaml:1: admin.listen: `},
		{"a list", "admin: [a]", "", false, "t.yaml:1: admin: want off, HOST:PORT or {listen: HOST:PORT}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := rest
			if tt.admin != "" {
				y = tt.admin + "\n" + rest
			}
			c, err := Parse("t.yaml", []byte(y))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Admin.Listen != tt.listen || c.Admin.Default != tt.dflt {
				t.Errorf("admin = %+v, want listen %q default %v", c.Admin, tt.listen, tt.dflt)
			}
			// -print-config writes the map form, which loads back the same.
			out, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Parse("printed", out)
			if err != nil || c2.Admin.Listen != tt.listen {
				t.Errorf("printed config gives %+v, %v:\n%s", c2, err, out)
			}
		})
	}
}
