package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pulse/testenv"
)

// install runs scripts/install.sh into destdir without touching the
// system, and returns its output.
func install(t *testing.T, destdir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("sh", append([]string{filepath.Join(repoRoot(), "scripts", "install.sh"), "--no-system"}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"DESTDIR=" + destdir}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkFile fails unless path exists with mode perm and, if want is not
// nil, content want.
func checkFile(t *testing.T, path string, perm os.FileMode, want []byte) []byte {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want != nil && !bytes.Equal(got, want) {
		t.Errorf("%s: content differs from what was installed", path)
	}
	return got
}

func TestInstallGivenBinary(t *testing.T) {
	bin := testenv.Binary(t)
	binData, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	install(t, dest, nil, "--binary", bin)

	checkFile(t, filepath.Join(dest, "usr/local/bin/pulse"), 0o755, binData)
	conf, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "pulse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dest, "etc/pulse/pulse.yaml"), 0o640, conf)
	for _, u := range units {
		want, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", u))
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join(dest, "etc/systemd/system", u), 0o644, want)
	}
	// Nothing else: no temporary files left behind.
	var files []string
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dest, p)
			files = append(files, rel)
		}
		return err
	})
	want := "etc/pulse/pulse.yaml etc/systemd/system/pulse-merger@.service etc/systemd/system/pulse.service usr/local/bin/pulse"
	if got := strings.Join(files, " "); got != want {
		t.Errorf("installed files:\n%s\nwant\n%s", got, want)
	}

	// Again, over an edited config and with another binary: the config
	// stays the operator's, the binary is replaced.
	edited := []byte("# mine\n")
	if err := os.WriteFile(filepath.Join(dest, "etc/pulse/pulse.yaml"), edited, 0o640); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "pulse")
	if err := os.WriteFile(other, []byte("#!/bin/sh\necho other\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := install(t, dest, nil, "--binary", other)
	if !strings.Contains(out, "kept "+filepath.Join(dest, "etc/pulse/pulse.yaml")) {
		t.Errorf("second run did not say it kept the config:\n%s", out)
	}
	checkFile(t, filepath.Join(dest, "etc/pulse/pulse.yaml"), 0o640, edited)
	checkFile(t, filepath.Join(dest, "usr/local/bin/pulse"), 0o755, []byte("#!/bin/sh\necho other\n"))
}

func TestInstallPrefix(t *testing.T) {
	bin := testenv.Binary(t)
	dest := t.TempDir()
	install(t, dest, []string{"PREFIX=/opt/pulse"}, "--binary", bin)
	if _, err := os.Stat(filepath.Join(dest, "opt/pulse/bin/pulse")); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		d := directives(t, filepath.Join(dest, "etc/systemd/system", u))
		for _, k := range []string{"Service.ExecStart", "Service.ExecStartPre"} {
			if v := d[k]; len(v) != 1 || !strings.HasPrefix(v[0], "/opt/pulse/bin/pulse ") {
				t.Errorf("%s %s = %q, want /opt/pulse/bin/pulse ...", u, k, v)
			}
		}
	}
}

// Without --binary the script builds one, stamping VERSION into it.
func TestInstallBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pulse")
	}
	dest := t.TempDir()
	install(t, dest, []string{"VERSION=9.9.9-test"})
	out, err := exec.Command(filepath.Join(dest, "usr/local/bin/pulse"), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "pulse 9.9.9-test") {
		t.Fatalf("pulse version: %v: %q", err, out)
	}
}
