package terraform_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pulse/testenv"
)

// fakeTerraform is a terraform stand-in that records its arguments, one
// call a line, and answers `output -raw NAME` with canned values.
const fakeTerraform = `#!/bin/sh
echo "$*" >>"$FAKE_TF_LOG"
case "$*" in
"output -raw summary") printf 'hop-0        head   198.51.100.1\nhop-1        tail   198.51.100.2' ;;
"output -raw cssh") printf 'cssh -l ec2-user 198.51.100.1 198.51.100.2' ;;
esac
`

// create.sh and destroy.sh drive terraform as the README says, remember
// create's choices for destroy in generated.auto.tfvars, and print the
// instances' addresses and the cssh line.
func TestCreateDestroyScripts(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantVars []string
	}{
		{
			name:     "release URL",
			env:      []string{"PULSE_RELEASE_URL=https://example.invalid/pulse.tar.gz"},
			args:     []string{"-var", "chain_length=2"},
			wantVars: []string{`allowed_ssh_cidr = "203.0.113.7/32"`, `architecture     = "x86_64"`, `pulse_release_url = "https://example.invalid/pulse.tar.gz"`},
		},
		{
			name:     "uploaded binary",
			env:      []string{"PULSE_BINARY=@BIN@", "ARCH=arm64"},
			wantVars: []string{`architecture     = "arm64"`, `pulse_binary_path = "@BIN@"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A copy of the scripts: create.sh writes beside itself.
			dir := t.TempDir()
			for _, s := range []string{"create.sh", "destroy.sh"} {
				if err := os.WriteFile(filepath.Join(dir, s), []byte(readFile(t, filepath.Join(moduleDir(), s))), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tf := filepath.Join(dir, "fake-terraform")
			bin := filepath.Join(dir, "pulse-linux")
			for path, text := range map[string]string{tf: fakeTerraform, bin: "not really a binary"} {
				if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			calls := filepath.Join(dir, "calls")
			env := []string{"PATH=" + os.Getenv("PATH"), "TERRAFORM=" + tf, "FAKE_TF_LOG=" + calls, "ALLOWED_SSH_CIDR=203.0.113.7/32"}
			for _, e := range tt.env {
				env = append(env, strings.ReplaceAll(e, "@BIN@", bin))
			}
			run := func(script string, args ...string) string {
				t.Helper()
				cmd := exec.Command(filepath.Join(dir, script), args...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", script, err, out)
				}
				return string(out)
			}

			out := run("create.sh", tt.args...)
			for _, want := range []string{"hop-0        head   198.51.100.1\n", "hop-1        tail   198.51.100.2\n", "cssh -l ec2-user 198.51.100.1 198.51.100.2\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("create.sh output lacks %q:\n%s", want, out)
				}
			}
			vars := readFile(t, filepath.Join(dir, "generated.auto.tfvars"))
			for _, want := range tt.wantVars {
				if want = strings.ReplaceAll(want, "@BIN@", bin); !strings.Contains(vars, want) {
					t.Errorf("generated.auto.tfvars lacks %q:\n%s", want, vars)
				}
			}
			run("destroy.sh")

			apply := strings.TrimSpace("apply -input=false -auto-approve " + strings.Join(tt.args, " "))
			want := []string{"init -input=false", apply, "output -raw summary", "output -raw cssh", "init -input=false", "destroy -input=false -auto-approve"}
			if got := strings.Split(strings.TrimSpace(readFile(t, calls)), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("terraform calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestScriptsShellcheck(t *testing.T) {
	sc := testenv.NeedTool(t, "shellcheck", "shellcheck")
	for _, s := range []string{"create.sh", "destroy.sh", "templates/bootstrap.sh"} {
		if out, err := exec.Command(sc, filepath.Join(moduleDir(), s)).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", s, err, out)
		}
	}
}
