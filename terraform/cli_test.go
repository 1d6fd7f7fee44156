package terraform_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// terraform itself is not in Debian's archive, so CI cannot install it:
// where it is installed, it checks the format and — given a local provider
// mirror (PULSE_TF_PLUGIN_DIR, or /opt/tf-plugins) — validates the module.
// Elsewhere the hcl-based tests stand in for both.
func TestTerraformCLI(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform not installed (not packaged for Debian): fmt and validate are covered by the hcl tests only")
	}
	home := t.TempDir() // no CLI config or plugin cache of the user's
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null", "HOME="+home, "TF_DATA_DIR="+filepath.Join(home, "data"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Run("fmt", func(t *testing.T) { run(moduleDir(), "fmt", "-check", "-diff", "-recursive") })
	t.Run("validate", func(t *testing.T) {
		plugins := os.Getenv("PULSE_TF_PLUGIN_DIR")
		if plugins == "" {
			plugins = "/opt/tf-plugins"
		}
		if _, err := os.Stat(filepath.Join(plugins, "registry.terraform.io", "hashicorp", "aws")); err != nil {
			t.Skipf("no aws provider mirror in %s (set PULSE_TF_PLUGIN_DIR): validate needs one, the registry is out of reach", plugins)
		}
		// A copy, with the unit it reads beside it: init writes into the
		// directory.
		root := t.TempDir()
		copyTree(t, moduleDir(), filepath.Join(root, "terraform"))
		copyTree(t, filepath.Join(repoRoot(), "deploy"), filepath.Join(root, "deploy"))
		dir := filepath.Join(root, "terraform")
		run(dir, "init", "-input=false", "-backend=false", "-plugin-dir="+plugins)
		run(dir, "validate")
	})
}

// copyTree copies the regular files under src (not Go files) to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.HasSuffix(path, ".go") || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
