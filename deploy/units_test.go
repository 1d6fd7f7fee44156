package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pulse/testenv"
)

var units = []string{"pulse.service", "pulse-merger@.service"}

// The settings the service depends on, whatever else changes.
func TestUnitDirectives(t *testing.T) {
	common := map[string]string{
		"Service.Type":                    "notify",
		"Service.NotifyAccess":            "main",
		"Service.ExecReload":              "/bin/kill -HUP $MAINPID",
		"Service.WatchdogSec":             "30s",
		"Service.TimeoutStopSec":          "30s",
		"Service.Restart":                 "on-failure",
		"Service.User":                    "pulse",
		"Service.Group":                   "pulse",
		"Service.DynamicUser":             "no",
		"Service.ConfigurationDirectory":  "pulse",
		"Service.LimitNOFILE":             "65536",
		"Service.ProtectSystem":           "strict",
		"Service.ProtectHome":             "true",
		"Service.PrivateTmp":              "true",
		"Service.NoNewPrivileges":         "true",
		"Service.ProtectKernelTunables":   "true",
		"Service.ProtectKernelModules":    "true",
		"Service.ProtectControlGroups":    "true",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"Service.LockPersonality":         "true",
		"Service.MemoryDenyWriteExecute":  "true",
		"Service.CapabilityBoundingSet":   "",
		"Install.WantedBy":                "multi-user.target",
	}
	tests := []struct {
		unit string
		want map[string]string
	}{
		{"pulse.service", map[string]string{
			"Service.ExecStart":      "/usr/local/bin/pulse agent -config /etc/pulse/pulse.yaml",
			"Service.StateDirectory": "pulse",
			"Service.ReadOnlyPaths":  "/var/log",
		}},
		{"pulse-merger@.service", map[string]string{
			"Service.ExecStart":      "/usr/local/bin/pulse merger -config /etc/pulse/%i.yaml",
			"Service.StateDirectory": "pulse/%i",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.unit, func(t *testing.T) {
			d := directives(t, filepath.Join(repoRoot(), "deploy", tt.unit))
			for _, want := range []map[string]string{common, tt.want} {
				for k, v := range want {
					if got := d[k]; len(got) != 1 || got[0] != v {
						t.Errorf("%s = %q, want exactly %q", k, got, v)
					}
				}
			}
		})
	}
}

// systemdAnalyze returns the path of systemd-analyze (testenv.NeedTool: a
// failure naming the package under CI=1).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	return testenv.NeedTool(t, "systemd-analyze", "systemd")
}

// stageUnits copies the units into a temporary directory with ExecStart and
// ExecStartPre pointing at a freshly built pulse — verify checks that the
// binary exists and is executable — and the template under an instance
// name, as systemd-analyze wants. It returns the paths.
func stageUnits(t *testing.T) []string {
	bin := testenv.Binary(t)
	dir := t.TempDir()
	var paths []string
	for _, u := range units {
		data, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", u))
		if err != nil {
			t.Fatal(err)
		}
		staged := strings.ReplaceAll(string(data), "/usr/local/bin/pulse", bin)
		name := strings.Replace(u, "@.", "@shard1.", 1)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(staged), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	tool := systemdAnalyze(t)
	for _, path := range stageUnits(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cmd := exec.Command(tool, "verify", filepath.Base(path))
			cmd.Dir = filepath.Dir(path)
			out, err := cmd.CombinedOutput()
			// verify exits 0 on unknown keys and unparsable values, only
			// warning: any output is a failure.
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Fatalf("systemd-analyze verify %s: %v\n%s", filepath.Base(path), err, out)
			}
		})
	}
}

// The hardening keeps systemd's exposure score at "OK" or better. Skipped
// where systemd-analyze is too old for --offline (before systemd 250).
func TestSystemdAnalyzeSecurity(t *testing.T) {
	tool := systemdAnalyze(t)
	for _, path := range stageUnits(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			// Exposure is 0-10, threshold in tenths: fail above 3.0.
			cmd := exec.Command(tool, "security", "--offline=true", "--threshold=30", "--no-pager", "./"+filepath.Base(path))
			cmd.Dir = filepath.Dir(path)
			out, err := cmd.CombinedOutput()
			if err != nil && slices.ContainsFunc([]string{"unrecognized option", "Unknown command"}, func(s string) bool { return strings.Contains(string(out), s) }) {
				t.Skipf("systemd-analyze security --offline unsupported here: %s", out)
			}
			if err != nil {
				t.Fatalf("exposure above 3.0 or error: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			t.Log(lines[len(lines)-1])
		})
	}
}
