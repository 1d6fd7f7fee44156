package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Host is "a host" for tests: a network namespace of its own, joined to
// the root namespace by a veth pair on a private /30 of 10.200.0.0/16 (the
// root's end .1, the host's .2), so that LinkDown can cut it off as a
// pulled cable would. Processes started with Start run inside it.
//
// Without root or a working `ip netns` the host is the root namespace on
// 127.0.0.1: processes run as usual, Isolated reports false, and LinkDown
// is Unavailable.
type Host struct {
	Name string
	Addr string // the host's own address: its processes listen here, others reach them here
	Peer string // the root namespace's end of the link: listen here for what the host must reach

	t     testing.TB
	ns    string // the namespace; "" when not isolated
	veth  string // the root namespace's end of the pair
	why   string // why the host is not isolated
	mu    sync.Mutex
	ports map[string]bool // handed out by FreeAddr: the root namespace does not see them taken
}

// Names of what NetHost creates: the pid of the test binary makes them
// unique on the machine and lets a later run remove what a killed run left.
const (
	nsPrefix   = "ptenv-" // ptenv-PID-SEQ
	vethPrefix = "pv"     // pvPIDxSEQh (root end), pvPIDxSEQn (host end)
)

var hostSeq atomic.Int64

// NetHost makes a host named name (for logs). It falls back to 127.0.0.1,
// and logs why, when it cannot make a namespace. Everything it made is
// removed when the test ends.
func NetHost(t testing.TB, name string) *Host {
	t.Helper()
	h := &Host{t: t, Name: name, Addr: "127.0.0.1", Peer: "127.0.0.1", ports: map[string]bool{}}
	if err := h.isolate(); err != nil {
		h.why = err.Error()
		t.Logf("testenv: host %s shares the root network namespace (127.0.0.1): %v", name, err)
	}
	return h
}

// Isolated reports whether the host has a network namespace of its own.
func (h *Host) Isolated() bool { return h.ns != "" }

// isolate makes the namespace and the link, or says why it cannot.
func (h *Host) isolate() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("network namespaces need ip (Debian package iproute2): %w", err)
	}
	// One test binary at a time picks a subnet and takes it.
	unlock, err := lockFile(filepath.Join(os.TempDir(), "pulse-testenv-netns.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	removeStaleHosts()
	base, err := freeSubnet()
	if err != nil {
		return err
	}
	seq := hostSeq.Add(1)
	ns := fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), seq)
	veth := fmt.Sprintf("%s%dx%dh", vethPrefix, os.Getpid(), seq)
	inner := strings.TrimSuffix(veth, "h") + "n"
	if len(veth) > 15 {
		return fmt.Errorf("interface name %s longer than 15 bytes", veth)
	}
	peer, addr := addIP(base, 1), addIP(base, 2)
	if err := ipCmd("netns", "add", ns); err != nil {
		return err
	}
	h.t.Cleanup(func() {
		// Deleting one end of the pair deletes both; a namespace still held
		// by a process would otherwise keep its end alive.
		if err := ipCmd("link", "del", veth); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			h.t.Errorf("testenv: host %s: %v", h.Name, err)
		}
		if err := ipCmd("netns", "del", ns); err != nil {
			h.t.Errorf("testenv: host %s: %v", h.Name, err)
		}
	})
	for _, args := range [][]string{
		{"link", "add", veth, "type", "veth", "peer", "name", inner, "netns", ns},
		{"addr", "add", peer.String() + "/30", "dev", veth},
		{"link", "set", veth, "up"},
		{"-n", ns, "addr", "add", addr.String() + "/30", "dev", inner},
		{"-n", ns, "link", "set", inner, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			return err
		}
	}
	h.ns, h.veth, h.Addr, h.Peer = ns, veth, addr.String(), peer.String()
	h.t.Logf("testenv: host %s: namespace %s, %s ↔ %s (%s)", h.Name, ns, h.Addr, h.Peer, veth)
	return nil
}

// Start is the package's Start for a process inside the host: `ip netns
// exec NS bin args…`, which execs bin in place, so that the process
// signalled, killed and reaped is bin itself. It returns once bin runs.
func (h *Host) Start(t testing.TB, dir, name, bin string, args ...string) *Process {
	t.Helper()
	if !h.Isolated() {
		return Start(t, dir, name, bin, args...)
	}
	p := Start(t, dir, name, "ip", append([]string{"netns", "exec", h.ns, bin}, args...)...)
	want, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 10*time.Second, name+": ip netns exec runs "+bin, func() bool {
		if !p.Running() {
			t.Fatalf("%s exited:\n%s", name, p.Tail(20))
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID()))
		return err == nil && exe == want
	})
	return p
}

// StartAgent is the package's StartAgent inside the host. Its listeners
// (http inputs, admin) belong on h.Addr to be reachable from outside.
func (h *Host) StartAgent(t testing.TB, root, name, config string) *Node {
	t.Helper()
	cfg, dir := writeConfig(t, root, name, config)
	return &Node{Process: h.Start(t, root, name, Binary(t), "agent", "-config", cfg), Dir: dir}
}

// FreeAddr returns h.Addr:port with a port not yet handed out for the
// host. A namespace starts with every port free; the port comes from the
// root namespace's free ones.
func (h *Host) FreeAddr(t testing.TB) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for range 100 {
		_, port, err := net.SplitHostPort(FreeAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		if addr := net.JoinHostPort(h.Addr, port); !h.ports[addr] {
			h.ports[addr] = true
			return addr
		}
	}
	t.Fatalf("testenv: host %s: no free port", h.Name)
	return ""
}

// LinkDown cuts the host off: its link to the root namespace goes down,
// both ways, and packets to and from it are lost until LinkUp.
func (h *Host) LinkDown() {
	h.t.Helper()
	h.setLink("down")
}

// LinkUp restores the link that LinkDown cut.
func (h *Host) LinkUp() {
	h.t.Helper()
	h.setLink("up")
}

func (h *Host) setLink(state string) {
	h.t.Helper()
	if !h.Isolated() {
		Unavailable(h.t, "host %s: link %s needs a network namespace of its own: %s", h.Name, state, h.why)
	}
	if err := ipCmd("link", "set", "dev", h.veth, state); err != nil {
		h.t.Fatalf("testenv: host %s: %v", h.Name, err)
	}
}

// ipCmd runs ip with args.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeSubnet returns the base of a /30 in 10.200.0.0/16 that no interface
// of the root namespace has an address in, starting from one that depends
// on the pid, so that concurrent test binaries tend to differ.
func freeSubnet() (net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("interface addresses: %w", err)
	}
	used := map[[4]byte]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if v4 := ipn.IP.To4(); v4 != nil && v4[0] == 10 && v4[1] == 200 {
				used[[4]byte{v4[0], v4[1], v4[2], v4[3] &^ 3}] = true
			}
		}
	}
	const subnets = 1 << 14 // /30s in a /16
	start := os.Getpid() * 7
	for i := range subnets {
		n := (start + i) % subnets
		base := [4]byte{10, 200, byte(n >> 6), byte(n&63) << 2}
		if !used[base] {
			return net.IPv4(base[0], base[1], base[2], base[3]).To4(), nil
		}
	}
	return nil, errors.New("no free /30 left in 10.200.0.0/16")
}

func addIP(base net.IP, n byte) net.IP {
	ip := append(net.IP(nil), base.To4()...)
	ip[3] += n
	return ip
}

// removeStaleHosts deletes the namespaces and links that test binaries no
// longer running left behind (killed before their cleanup ran).
func removeStaleHosts() {
	dead := func(name, prefix, sep string) bool {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			return false
		}
		pidText, _, ok := strings.Cut(rest, sep)
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil {
			return false
		}
		_, err = os.Stat(fmt.Sprintf("/proc/%d", pid))
		return os.IsNotExist(err)
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && dead(f[0], nsPrefix, "-") {
				_ = ipCmd("netns", "del", f[0])
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show", "type", "veth").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			// "12: pv123x1h@if11: <...> ..."
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if dead(name, vethPrefix, "x") {
				_ = ipCmd("link", "del", name)
			}
		}
	}
}

// lockFile takes an exclusive flock on path, and returns its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}
