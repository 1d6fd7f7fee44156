package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostgresUser is the role every testenv PostgreSQL has, with trust
// authentication on loopback: tests connect as it without a password.
const PostgresUser = "pulse"

// Postgres is a PostgreSQL server of a test's own: a data directory made by
// initdb in a temp dir, and the postgres server (the postmaster) as a child
// of the test, listening on 127.0.0.1 only, on a port free when it was
// first started, with its Unix socket in the temp dir too — so tests need no
// system service and never meet each other's servers.
//
// The postmaster is started directly rather than through pg_ctl start,
// which daemonizes it: as a child it is waited for (Stop and Kill know when
// it is gone), and it dies with the test binary (Pdeathsig) instead of
// outliving a test killed by -timeout. Its other processes follow it by
// themselves: PostgreSQL's backends exit when they see the postmaster die.
//
// Durability is traded for speed, which suits tests only: fsync=off and
// full_page_writes=off. A kill -9 of the postmaster still loses nothing
// committed — each commit's WAL is written to the kernel, only never
// flushed to the disk — but a power loss or an OS crash would.
// synchronous_commit stays on: off, a commit returns before its WAL is
// written, and a kill -9 loses the last ones (seen in TestPostgresLifecycle).
//
// As root, initdb refuses to run, so initdb and the server run as the
// postgres user (made by Debian's postgresql package) through
// SysProcAttr.Credential, with the temp dir given to it.
type Postgres struct {
	t    testing.TB
	Dir  string // the temp dir: data/, sock/ and postgres.log
	Port int
	bin  string              // directory of initdb and postgres
	cred *syscall.Credential // nil: run as the test's own user

	mu   sync.Mutex
	cmd  *exec.Cmd     // the running postmaster; nil when stopped
	done chan struct{} // closed once cmd has been waited for
}

// StartPostgres initializes a fresh cluster in a new temp dir, starts it
// and waits until it takes connections. It is stopped and its dir removed
// when the test ends. Without initdb the test skips, or fails under CI=1
// (testenv.NeedTool; scripts/test.sh installs Debian's postgresql).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb := NeedTool(t, "initdb", "postgresql")
	if resolved, err := filepath.EvalSymlinks(initdb); err == nil {
		initdb = resolved // /usr/local/bin/initdb may link into /usr/lib/postgresql/N/bin
	}
	p := &Postgres{t: t, bin: filepath.Dir(initdb)}
	if _, err := os.Stat(filepath.Join(p.bin, "postgres")); err != nil {
		t.Fatalf("testenv: postgres server beside %s: %v", initdb, err)
	}
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			Unavailable(t, "PostgreSQL as root needs an unprivileged user to run as, and there is no postgres user (apt-get install -y postgresql makes it): %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}
	// Not t.TempDir: that is 0700 under a dir of root's, where the
	// postgres user could not reach. os.TempDir (/tmp) is open to all.
	dir, err := os.MkdirTemp("", "pulse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.Dir = dir
	t.Cleanup(func() {
		p.stop(syscall.SIGINT)
		if t.Failed() {
			t.Logf("postgres %d, last lines of its log:\n%s", p.Port, p.Tail(30))
		}
		os.RemoveAll(dir)
	})
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o700); err != nil {
		t.Fatal(err)
	}
	if p.cred != nil {
		for _, d := range []string{dir, filepath.Join(dir, "sock")} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.initdb(t)
	// The port is free when picked, but another test may take it before
	// the server binds: then pick again, a few times.
	for attempt := 1; ; attempt++ {
		_, port, _ := net.SplitHostPort(FreeAddr(t))
		p.Port, _ = strconv.Atoi(port)
		err := p.start()
		if err == nil {
			return p
		}
		if attempt == 3 || !strings.Contains(p.Log(), "could not bind") {
			t.Fatalf("testenv: start postgres: %v\n%s", err, p.Tail(20))
		}
	}
}

func (p *Postgres) initdb(t testing.TB) {
	t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, "initdb"),
		"-D", p.dataDir(), "-U", PostgresUser, "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir = p.Dir // initdb complains of a cwd it cannot read
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
}

func (p *Postgres) dataDir() string { return filepath.Join(p.Dir, "data") }
func (p *Postgres) logPath() string { return filepath.Join(p.Dir, "postgres.log") }

// Addr is the server's host:port.
func (p *Postgres) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// DSN is a connection string for the server's postgres database as
// PostgresUser, without TLS.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://%s@%s/postgres?sslmode=disable", PostgresUser, p.Addr())
}

// Start starts the server again, on the same data dir and port, and waits
// until it takes connections. After Kill it first waits for the killed
// server's last processes to go: PostgreSQL refuses to start while one
// still holds the old shared memory.
func (p *Postgres) Start() {
	p.t.Helper()
	if err := p.start(); err != nil {
		p.t.Fatalf("testenv: restart postgres on %d: %v\n%s", p.Port, err, p.Tail(20))
	}
}

// Stop shuts the server down cleanly (a fast shutdown: SIGINT, sessions
// cut, a checkpoint written) and waits until it has exited.
func (p *Postgres) Stop() { p.stop(syscall.SIGINT) }

// Kill kills the postmaster with SIGKILL, as kill -9 would, and waits until
// it and every process it had started are gone. Nothing shuts down
// cleanly: the next Start recovers from the WAL.
func (p *Postgres) Kill() { p.stop(syscall.SIGKILL) }

// Running reports whether the postmaster is running.
func (p *Postgres) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Log returns the server's log so far.
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(p.logPath())
	return string(b)
}

// Tail returns the last n lines of the server's log.
func (p *Postgres) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// start runs the postmaster and waits until it takes connections.
func (p *Postgres) start() error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return errors.New("already running")
	}
	log, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	defer log.Close() // the child has its own copy
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.dataDir(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(p.Port),
		"-c", "unix_socket_directories="+filepath.Join(p.Dir, "sock"),
		"-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB", "-c", "max_connections=60",
		"-c", "logging_collector=off", "-c", "log_min_messages=warning",
	)
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return err
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		if p.cmd == cmd {
			p.cmd = nil
		}
		p.mu.Unlock()
		close(done)
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("postgres exited (%v)", cmd.ProcessState)
		default:
		}
		if err := p.ping(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			p.stop(syscall.SIGKILL)
			return fmt.Errorf("not taking connections after 60s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop signals the postmaster and waits for it, and, after a SIGKILL, for
// the processes it had started. A clean shutdown that takes over a minute
// is cut short with SIGKILL.
func (p *Postgres) stop(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	children := childPIDs(cmd.Process.Pid)
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	// Orphans notice the postmaster's death on their own, within moments;
	// a restart must wait for them.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		alive := false
		for _, pid := range children {
			if processAlive(pid) {
				alive = true
				break
			}
		}
		if !alive {
			return
		}
	}
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// processAlive reports whether pid is a process that has not exited (a
// zombie counts as gone: it holds no shared memory).
func processAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}
