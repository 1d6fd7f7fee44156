package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Unavailable ends a test that cannot run here for want of a tool or a
// privilege (root, mount, ip netns): a skip, except under CI=1, where it is
// a failure — CI installs what the tests need, and a skip there would hide
// that a test never ran.
//
// Without root the skip stands even under CI: no package gives a
// privilege, and testenv's documented fallback for an unprivileged run is
// loopback ports without the root-only faults (network namespaces, tmpfs).
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Geteuid() != 0 {
		t.Skipf("%s (not root: the root-only fault is not available; skipped even under CI)", msg)
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set: a missing tool or privilege fails the test)", msg)
	}
	t.Skip(msg)
}
