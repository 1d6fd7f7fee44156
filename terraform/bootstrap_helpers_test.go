package terraform_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// etcdServer is a real single-member etcd on 127.0.0.1 for one test.
type etcdServer struct {
	Endpoint string // client URL
	ctl      string // etcdctl
}

// startEtcd starts etcd on free loopback ports with its data in a temporary
// directory, and waits until it is healthy. Without etcd the test skips, or
// fails in CI.
func startEtcd(t *testing.T) *etcdServer {
	t.Helper()
	bin := testenv.NeedTool(t, "etcd", "etcd-server")
	ctl := testenv.NeedTool(t, "etcdctl", "etcd-client")
	dir := t.TempDir()
	client, peer := testenv.FreeAddr(t), testenv.FreeAddr(t)
	p := testenv.Start(t, dir, "etcd", bin,
		"--name", "test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "test=http://"+peer)
	e := &etcdServer{Endpoint: "http://" + client, ctl: ctl}
	testenv.WaitFor(t, 30*time.Second, "etcd healthy at "+client, func() bool {
		if !p.Running() {
			t.Fatalf("etcd exited:\n%s", p.Tail(20))
		}
		_, err := e.run("endpoint", "health")
		return err == nil
	})
	return e
}

func (e *etcdServer) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.ctl, append([]string{"--endpoints", e.Endpoint, "--dial-timeout", "2s"}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Keys returns every key under prefix with its value.
func (e *etcdServer) Keys(t *testing.T, prefix string) map[string]string {
	t.Helper()
	out, err := e.run("get", "--prefix", prefix)
	if err != nil {
		t.Fatalf("etcdctl get --prefix %s: %v\n%s", prefix, err, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	kv := map[string]string{}
	for i := 0; i+1 < len(lines); i += 2 {
		kv[lines[i]] = lines[i+1]
	}
	return kv
}

// node is one simulated instance: a run of bootstrap.sh with every path of
// the instance under Dir, and, after it, what it would have started.
type node struct {
	Name string
	Dir  string
	Addr string // 127.0.0.1:port, its Pulse port
	Env  []string

	out  testenv.SyncBuffer
	done chan struct{}
	err  error
}

// newNode prepares an instance with the environment user-data gives
// bootstrap.sh on EC2, every path moved under root/name, plus extra
// ("K=V").
func newNode(t *testing.T, root, name string, e *etcdServer, prefix string, extra ...string) *node {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	endpoint := "http://127.0.0.1:1" // nothing listens: for tests that fail before etcd
	if e != nil {
		endpoint = e.Endpoint
	}
	addr := testenv.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"ETCD_ENDPOINTS=" + endpoint,
		"ETCD_PREFIX=" + prefix,
		"ADVERTISE_IP=127.0.0.1",
		"EC2_INSTANCE_ID=i-" + name,
		"LISTEN_HOST=127.0.0.1",
		"PULSE_PORT=" + port,
		"ADMIN_LISTEN=" + testenv.FreeAddr(t),
		"PREFIX=" + filepath.Join(dir, "usr/local"),
		"ETC_DIR=" + filepath.Join(dir, "etc/pulse"),
		"DATA_DIR=" + filepath.Join(dir, "var/lib/pulse"),
		"EVENTS_DIR=" + filepath.Join(dir, "opt/pulse/events"),
		"UNIT_DIR=" + filepath.Join(dir, "etc/systemd/system"),
		"TEMPLATE_DIR=" + filepath.Join(moduleDir(), "templates"),
		"PULSE_UNIT=" + filepath.Join(repoRoot(), "deploy", "pulse.service"),
		"PULSE_BINARY=" + testenv.Binary(t),
		"PULSE_BOOTSTRAP_NO_SYSTEMD=1",
		"WAIT_TIMEOUT=60",
		"WAIT_INTERVAL=0.1",
	}
	return &node{Name: name, Dir: dir, Addr: addr, Env: append(env, extra...)}
}

// Path is a path of the instance: Path("etc/pulse/pulse.yaml").
func (n *node) Path(rel string) string { return filepath.Join(n.Dir, rel) }

// Start runs bootstrap.sh in the background; the test's end kills it.
func (n *node) Start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "bash", templatePath("bootstrap.sh"))
	cmd.Env = n.Env
	cmd.Stdout, cmd.Stderr = &n.out, &n.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() {
		n.err = cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-n.done
	})
}

// Running reports whether bootstrap.sh has not exited.
func (n *node) Running() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Wait waits for bootstrap.sh to exit and returns its error and output.
func (n *node) Wait(t *testing.T, timeout time.Duration) (string, error) {
	t.Helper()
	select {
	case <-n.done:
	case <-time.After(timeout):
		t.Fatalf("%s: bootstrap.sh still running after %v:\n%s", n.Name, timeout, n.Output())
	}
	return n.Output(), n.err
}

// Run runs bootstrap.sh to the end and returns its output and error.
func (n *node) Run(t *testing.T, timeout time.Duration) (string, error) {
	t.Helper()
	n.Start(t)
	return n.Wait(t, timeout)
}

// Output is what bootstrap.sh has printed so far.
func (n *node) Output() string { return n.out.String() }

// Starts returns the commands bootstrap.sh said systemd would start, each
// split into its arguments.
func (n *node) Starts() [][]string {
	var cmds [][]string
	for _, line := range strings.Split(n.Output(), "\n") {
		if s, ok := strings.CutPrefix(line, "would start: "); ok {
			cmds = append(cmds, strings.Fields(s))
		}
	}
	return cmds
}
