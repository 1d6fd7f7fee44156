package gen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fields splits a logfmt-ish message into key=value pairs, honouring
// double quotes. A tiny check, not a full parser.
func fields(t testing.TB, msg string) map[string]string {
	t.Helper()
	kv := map[string]string{}
	for msg != "" {
		msg = strings.TrimLeft(msg, " ")
		k, rest, ok := strings.Cut(msg, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \"") {
			t.Fatalf("not key=value at %q", msg)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				t.Fatalf("unterminated quote at %q", rest)
			}
			v, msg = rest[1:1+end], rest[2+end:]
		} else {
			v, msg, _ = strings.Cut(rest, " ")
		}
		if _, dup := kv[k]; dup {
			t.Fatalf("key %q twice", k)
		}
		kv[k] = v
	}
	return kv
}

// idOf returns the id=N at the end of a line.
func idOf(t testing.TB, line []byte) uint64 {
	t.Helper()
	id, err := parseID(line)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// parseID is idOf for goroutines other than the test's.
func parseID(line []byte) (uint64, error) {
	i := bytes.LastIndex(line, []byte(" id="))
	if i < 0 {
		return 0, fmt.Errorf("no id in %q", line)
	}
	id, err := strconv.ParseUint(string(line[i+4:]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad id in %q: %v", line, err)
	}
	return id, nil
}

// idSet collects the ids a receiver saw, safely across handlers.
type idSet struct {
	mu   sync.Mutex
	seen map[uint64]int
	dups int
}

func newIDSet() *idSet { return &idSet{seen: map[uint64]int{}} }

func (s *idSet) add(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[id]++
	if s.seen[id] > 1 {
		s.dups++
	}
}

// check fails unless exactly the ids 0..n-1 were seen, each once.
func (s *idSet) check(t testing.TB, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) != n || s.dups != 0 {
		t.Fatalf("saw %d distinct ids and %d duplicates, want %d and 0", len(s.seen), s.dups, n)
	}
	for i := range n {
		if s.seen[uint64(i)] != 1 {
			t.Fatalf("id %d seen %d times", i, s.seen[uint64(i)])
		}
	}
}

// parseSyslog checks an RFC 5424 message as gen writes it and returns its
// APP, PROCID and MSG. It may run outside the test's goroutine.
func parseSyslog(m []byte, logplex bool) (app, proc, msg string, err error) {
	s, ok := strings.CutPrefix(string(m), "<190>1 ")
	if !ok {
		return "", "", "", fmt.Errorf("no <190>1 header: %q", m)
	}
	n := 6 // TIMESTAMP HOSTNAME APP PROCID MSGID SD
	if logplex {
		n = 5 // Logplex writes no STRUCTURED-DATA
	}
	f := strings.SplitN(s, " ", n+1)
	if len(f) != n+1 {
		return "", "", "", fmt.Errorf("too few fields: %q", m)
	}
	if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
		return "", "", "", fmt.Errorf("timestamp %q: %v", f[0], err)
	}
	if f[1] != "host" || f[4] != "-" || !logplex && f[5] != "-" {
		return "", "", "", fmt.Errorf("HOSTNAME, MSGID or SD wrong in %q", m)
	}
	return f[2], f[3], f[n], nil
}

// syslogIDs checks messages and records their ids.
func syslogIDs(t testing.TB, msgs [][]byte, ids *idSet) {
	t.Helper()
	for _, m := range msgs {
		_, _, text, err := parseSyslog(m, false)
		if err != nil {
			t.Fatal(err)
		}
		ids.add(idOf(t, []byte(text)))
	}
}
