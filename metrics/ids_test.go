package metrics

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFileIDsRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids")
	now := time.Unix(1000, 0)
	s, err := newFileIDs(path, 10, now)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 25 {
		id, err := s.NextID()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && id != uint64(now.UnixNano()) {
			t.Fatalf("first id %d, want the clock %d", id, now.UnixNano())
		}
		if i > 0 && id != last+1 {
			t.Fatalf("id %d after %d", id, last)
		}
		last = id
	}
	// 25 ids used three blocks of 10: the file says first+30.
	b, _ := os.ReadFile(path)
	end, err := parseIDFile(b)
	if err != nil || end != uint64(now.UnixNano())+30 {
		t.Fatalf("persisted end %d, %v; want %d", end, err, now.UnixNano()+30)
	}
	// A restart (the clock even going backwards) continues after the end.
	s2, err := newFileIDs(path, 10, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	id, err := s2.NextID()
	if err != nil || id != end {
		t.Fatalf("after restart: %d, %v; want %d", id, err, end)
	}
}

func TestFileIDsCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ids")
	s, err := NewFileIDs(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextID(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	b[7] ^= 1
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileIDs(path); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupt file: err = %v", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileIDs(path); err == nil {
		t.Fatal("short file accepted")
	}
	// Reserving fails when the directory is gone; no id is handed out.
	s2, err := newFileIDs(filepath.Join(dir, "gone", "ids"), 4, time.Unix(5, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.NextID(); err == nil {
		t.Fatal("NextID without a writable file succeeded")
	}
}

const idsHelperEnv = "PULSE_METRICS_IDS_HELPER"

// TestMain runs the test binary as TestFileIDsSurviveKill's child when
// idsHelperEnv names an ids file — a helper, not a test that would skip in
// every normal run.
func TestMain(m *testing.M) {
	if path := os.Getenv(idsHelperEnv); path != "" {
		idsHelper(path)
	}
	os.Exit(m.Run())
}

// idsHelper is the child of TestFileIDsSurviveKill: it hands out ids as
// fast as it can, writing each to stdout, until killed (or, as a bound,
// after 20 s). It exits.
func idsHelper(path string) {
	// Small blocks: reservations happen often, so kills land during them.
	s, err := newFileIDs(path, 64, time.Now())
	if err != nil {
		os.Exit(3)
	}
	deadline := time.Now().Add(20 * time.Second)
	var b [8]byte
	for i := 0; i < 50_000_000 && time.Now().Before(deadline); i++ {
		id, err := s.NextID()
		if err != nil {
			os.Exit(4)
		}
		binary.LittleEndian.PutUint64(b[:], id)
		if _, err := os.Stdout.Write(b[:]); err != nil {
			os.Exit(5)
		}
	}
	os.Exit(0)
}

// TestFileIDsSurviveKill SIGKILLs a process handing out ids at random
// moments, restarts it on the same file, and checks that no id repeats.
func TestFileIDsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "ids")
	rng := rand.New(rand.NewPCG(7, 7))
	seen := make(map[uint64]bool)
	var prevMax uint64
	for round := range 12 {
		want := 200 + rng.IntN(3000)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), idsHelperEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		var ids []uint64
		var b [8]byte
		killed := false
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				break // EOF after the kill
			}
			ids = append(ids, binary.LittleEndian.Uint64(b[:]))
			if len(ids) == want && !killed {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !killed || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: helper not killed as planned (killed=%v, err=%v, %d ids)", round, killed, err, len(ids))
		}
		for i, id := range ids {
			if seen[id] {
				t.Fatalf("round %d: id %d handed out twice", round, id)
			}
			seen[id] = true
			if i == 0 && round > 0 && id <= prevMax {
				t.Fatalf("round %d starts at %d, not after %d", round, id, prevMax)
			}
			if i > 0 && id != ids[i-1]+1 {
				t.Fatalf("round %d: id %d after %d", round, id, ids[i-1])
			}
		}
		prevMax = ids[len(ids)-1]
	}
	if len(seen) < 12*200 {
		t.Fatalf("only %d ids seen", len(seen))
	}
}
