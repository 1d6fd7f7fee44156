//go:build linux

package inputs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pulse/parse"
	"pulse/testenv"
)

// These tests drive real syslog clients: util-linux's logger (Debian's
// bsdutils) and rsyslogd. scripts/test.sh installs them; elsewhere the tests
// skip without them, unless CI is set (testenv.NeedTool).

// parsed is what a test checks of a received syslog message.
type parsed struct {
	format        parse.Format
	host, app     string
	msg           string
	hasTimestamp  bool
	structuredSet bool
}

// parseEvent parses ev as RFC 5424 or RFC 3164, as its start says.
func parseEvent(t *testing.T, ev string) parsed {
	t.Helper()
	var m parse.Syslog
	var err error
	f := parse.Detect([]byte(ev))
	switch f {
	case parse.FormatRFC5424:
		m, err = parse.RFC5424([]byte(ev))
	case parse.FormatRFC3164:
		m, err = parse.RFC3164([]byte(ev), time.Now())
	default:
		t.Fatalf("%q: not syslog", ev)
	}
	if err != nil {
		t.Fatalf("%q: %v", ev, err)
	}
	return parsed{f, string(m.Hostname), string(m.AppName), string(m.Message), !m.Timestamp.IsZero(), m.StructuredData != nil}
}

// sameHost reports whether a syslog HOSTNAME names this host, short or
// fully qualified.
func sameHost(got, host string) bool {
	short, _, _ := strings.Cut(host, ".")
	gotShort, _, _ := strings.Cut(got, ".")
	return got != "" && gotShort == short
}

// logger's remote modes, each into a Syslog input: every message arrives,
// and parses with the host, app and message sent.
func TestSyslogLoggerClient(t *testing.T) {
	logger := testenv.NeedTool(t, "logger", "bsdutils")
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		network string
		args    []string
		format  parse.Format
	}{
		{"tcp octet-count", "tcp", []string{"--tcp", "--octet-count"}, parse.FormatRFC5424},
		{"tcp octet-count rfc3164", "tcp", []string{"--tcp", "--octet-count", "--rfc3164"}, parse.FormatRFC3164},
		{"tcp newline rfc5424", "tcp", []string{"--tcp", "--rfc5424"}, parse.FormatRFC5424},
		{"tcp newline rfc3164", "tcp", []string{"--tcp", "--rfc3164"}, parse.FormatRFC3164},
		{"udp rfc5424", "udp", []string{"--udp", "--rfc5424"}, parse.FormatRFC5424},
		{"udp rfc3164", "udp", []string{"--udp", "--rfc3164"}, parse.FormatRFC3164},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := startSyslog(t, SyslogOptions{Listen: tc.network + "://127.0.0.1:0", FlushEvery: 10 * time.Millisecond}, rec.emit)
			_, port, _ := strings.Cut(srv.s.Addr(), ":")
			run := func(stdin string, msg ...string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				args := append(slices.Clone(tc.args), "-n", "127.0.0.1", "-P", port, "-t", "myapp")
				cmd := exec.CommandContext(ctx, logger, append(args, msg...)...)
				cmd.Stdin = strings.NewReader(stdin)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%v: %v: %s", cmd.Args, err, out)
				}
			}
			// Three runs with a message each, then 100 lines on stdin: one
			// message per line, over one connection (TCP).
			var want []string
			for i := range 3 {
				m := fmt.Sprintf("hello id=%d", i)
				want = append(want, m)
				run("", m)
			}
			var stdin strings.Builder
			for i := 3; i < 103; i++ {
				m := fmt.Sprintf("hello id=%d path=/a/b status=200", i)
				want = append(want, m)
				stdin.WriteString(m + "\n")
			}
			run(stdin.String())

			testenv.WaitFor(t, 10*time.Second, "every message", rec.has(len(want)))
			t.Logf("last event: %q", rec.events()[len(want)-1])
			var got []string
			for _, ev := range rec.events() {
				p := parseEvent(t, ev)
				if p.format != tc.format || !sameHost(p.host, host) || p.app != "myapp" || !p.hasTimestamp {
					t.Errorf("%q: parsed as %v host %q app %q, want %v from %q, app myapp", ev, p.format, p.host, p.app, tc.format, host)
				}
				got = append(got, p.msg)
			}
			// The lines of the stdin run came over one connection (TCP):
			// in order. Separate runs, and datagrams, may be reordered.
			if tc.network == "tcp" {
				var stdinRun []string
				for _, m := range got {
					if strings.Contains(m, "path=") {
						stdinRun = append(stdinRun, m)
					}
				}
				equal(t, "messages of one connection", stdinRun, want[3:])
			}
			slices.Sort(got)
			slices.Sort(want)
			equal(t, "messages", got, want)
			st := srv.s.Stats()
			if st.Messages != int64(len(want)) || st.Dropped != 0 || st.Oversized != 0 || st.Errors.Total() != 0 {
				t.Errorf("stats %+v", st)
			}
			if tc.network == "tcp" && st.Accepted != 4 {
				t.Errorf("%d connections, want 4 (one per logger run)", st.Accepted)
			}
		})
	}
}

// rsyslogd follows a file (imfile) and forwards its lines over TCP,
// octet-counted, in RFC 5424: every line arrives, in order, with the
// configured host and tag.
func TestSyslogRsyslogForwarding(t *testing.T) {
	rsyslogd := testenv.NeedTool(t, "rsyslogd", "rsyslog")
	rec := &recorder{}
	srv := startSyslog(t, SyslogOptions{FlushEvery: 10 * time.Millisecond}, rec.emit)
	_, port, _ := strings.Cut(srv.s.Addr(), ":")

	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "app.log")
	line := func(i int) string {
		return fmt.Sprintf("at=info line=%d msg=\"request done\" path=/api/v1/users/%d status=200 service=%dms", i, i, i%500)
	}
	var first strings.Builder
	for i := range 300 {
		first.WriteString(line(i) + "\n")
	}
	writeFile(t, logFile, first.String())

	// No system sockets or files: imfile in, omfwd out, state in work.
	conf := fmt.Sprintf(`global(workDirectory=%q localHostName="pulse-test")
module(load="imfile")
ruleset(name="forward") {
  action(type="omfwd" target="127.0.0.1" port=%q protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}
input(type="imfile" file=%q tag="myapp" facility="local0" severity="info" ruleset="forward")
`, work, port, logFile)
	confPath := filepath.Join(dir, "rsyslog.conf")
	writeFile(t, confPath, conf)
	pidFile := filepath.Join(dir, "rsyslogd.pid")

	out := &testenv.SyncBuffer{}
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", pidFile)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// Should this test process die, rsyslogd dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	})
	waitForOrExit := func(n int) {
		t.Helper()
		testenv.WaitFor(t, 30*time.Second, strconv.Itoa(n)+" lines forwarded", func() bool {
			select {
			case err := <-exited:
				t.Fatalf("rsyslogd exited: %v\n%s", err, out.String())
			default:
			}
			return rec.count() >= n
		})
	}
	waitForOrExit(300)

	// Lines appended later are followed and forwarded too.
	var more strings.Builder
	for i := 300; i < 500; i++ {
		more.WriteString(line(i) + "\n")
	}
	appendFile(t, logFile, more.String())
	waitForOrExit(500)

	events := rec.events()
	if len(events) != 500 {
		t.Fatalf("%d events, want 500", len(events))
	}
	t.Logf("first event: %q", events[0])
	for i, ev := range events {
		p := parseEvent(t, ev)
		if p.format != parse.FormatRFC5424 || p.host != "pulse-test" || p.app != "myapp" || !p.hasTimestamp || p.msg != line(i) {
			t.Fatalf("event %d: %q parsed as %v host %q app %q msg %q; want rfc5424 from pulse-test, myapp, %q",
				i, ev, p.format, p.host, p.app, p.msg, line(i))
		}
	}
	st := srv.s.Stats()
	if st.Messages != 500 || st.Dropped != 0 || st.Errors.Total() != 0 {
		t.Errorf("stats %+v", st)
	}
}
