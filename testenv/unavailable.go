package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// Unavailable ends a test that cannot run here for want of a tool or a
// privilege (root, mount, ip netns): a skip, except under CI=1, where it is
// a failure — scripts/test.sh installs what the tests need, and a skip there
// would hide that a test never ran. That holds for root too: the full-disk
// and cut-off tests are the only proof of those guarantees, so CI runs as
// root (sudo -E scripts/test.sh) or fails saying so.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		if os.Geteuid() != 0 {
			msg += " (this process is not root: run the tests as root, e.g. sudo -E scripts/test.sh)"
		}
		t.Fatalf("%s; CI is set, so a test that cannot run fails instead of skipping", msg)
	}
	t.Skipf("%s (CI=1 makes this a failure)", msg)
}

// NeedRoot ends the test as Unavailable unless it runs as root: what
// names what root is needed for ("mounting a tmpfs").
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "%s needs root", what)
	}
}

// NeedTool returns the path of a program a test drives — looked up in PATH,
// then in /usr/sbin and /sbin, which a user's PATH may lack. Without it the
// test skips, except under CI=1 (scripts/test.sh sets it after installing
// the tools), where it fails naming the tool and the Debian package that
// has it. Root does not matter here: a package is all it takes.
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	if path, ok := lookTool(name); ok {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI is set: install it (apt-get install -y %s), or run scripts/test.sh, which does", name, pkg)
	}
	t.Skipf("%s not found: apt-get install -y %s, or run scripts/test.sh (CI=1 makes this a failure)", name, pkg)
	return ""
}

// OptionalTool is NeedTool for a check that is one part of a test: without
// the tool, outside CI, that part is logged as not run and the rest runs;
// under CI=1 the test fails as with NeedTool.
func OptionalTool(t testing.TB, name, pkg string) (string, bool) {
	t.Helper()
	if path, ok := lookTool(name); ok {
		return path, true
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI is set: install it (apt-get install -y %s), or run scripts/test.sh, which does", name, pkg)
	}
	t.Logf("%s not found (apt-get install -y %s): that check is not run", name, pkg)
	return "", false
}

// lookTool looks name up in PATH, then in the sbin directories, then in
// PostgreSQL's versioned bin directories (Debian keeps initdb and the
// server out of PATH), newest version first.
func lookTool(name string) (string, bool) {
	if path, err := exec.LookPath(name); err == nil {
		return path, true
	}
	pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(pg, func(a, b string) int { return pgVersion(b) - pgVersion(a) })
	for _, dir := range append([]string{"/usr/sbin", "/sbin"}, pg...) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// NeedIsolated ends the test as Unavailable unless the host has a network
// namespace of its own, saying why it has not (not root, no ip, ...): for
// a test whose point is a fault only a namespace allows, found out before
// it starts anything rather than at LinkDown.
func (h *Host) NeedIsolated() {
	h.t.Helper()
	if !h.Isolated() {
		Unavailable(h.t, "host %s needs a network namespace of its own: %s", h.Name, h.why)
	}
}

// pgVersion is the major version in /usr/lib/postgresql/<N>/bin, 0 if none.
func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}
