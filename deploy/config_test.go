package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/config"
)

func TestDefaultConfigParses(t *testing.T) {
	path := filepath.Join(repoRoot(), "deploy", "pulse.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(path, data)
	if err != nil {
		t.Fatalf("deploy/pulse.yaml does not validate:\n%v", err)
	}
	// What pulse.service assumes of it.
	if cfg.DataDir != "/var/lib/pulse" {
		t.Errorf("data_dir %q, want /var/lib/pulse (StateDirectory=pulse)", cfg.DataDir)
	}
	if len(cfg.Inputs) != 1 || cfg.Inputs[0].Type != config.InputFile || cfg.Inputs[0].StartAt != "end" ||
		len(cfg.Inputs[0].Paths) != 1 || !strings.HasPrefix(cfg.Inputs[0].Paths[0], "/var/log/") {
		t.Errorf("inputs %+v, want one file input on /var/log starting at the end", cfg.Inputs)
	}
	if len(cfg.Outputs) == 0 || cfg.Outputs[0].Type != config.OutputHTTP {
		t.Errorf("outputs %+v, want an http output", cfg.Outputs)
	}
	// The unit must give the agent time to drain before SIGKILL.
	unit := directives(t, filepath.Join(repoRoot(), "deploy", "pulse.service"))
	stop, err := time.ParseDuration(unit["Service.TimeoutStopSec"][0])
	if err != nil {
		t.Fatal(err)
	}
	if margin := stop - time.Duration(cfg.ShutdownTimeout); margin < 10*time.Second {
		t.Errorf("TimeoutStopSec=%v leaves %v over shutdown_timeout %v, want at least 10s", stop, margin, time.Duration(cfg.ShutdownTimeout))
	}
}
