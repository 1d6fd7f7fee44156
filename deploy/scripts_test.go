package deploy_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"pulse/testenv"
)

// The repository's own shell scripts — the installer, the test command,
// the Kafka jar fetch and CI's entry point — pass shellcheck, as the
// terraform scripts do.
func TestRepoScriptsShellcheck(t *testing.T) {
	sc := testenv.NeedTool(t, "shellcheck", "shellcheck")
	for _, s := range []string{"scripts/install.sh", "scripts/test.sh", "scripts/kafka-jars.sh", "bench/compare.sh", "bench/instructions.sh", "bench/install-peers.sh", ".ci/run"} {
		t.Run(s, func(t *testing.T) {
			if out, err := exec.Command(sc, filepath.Join(repoRoot(), s)).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", s, err, out)
			}
		})
	}
}
