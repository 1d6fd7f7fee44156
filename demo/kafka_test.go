package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// needKafka skips the test without the broker's jars or Java 17+, or
// fails it under CI=1 (scripts/test.sh fetches the jars), as
// testenv.StartKafka does.
func needKafka(t *testing.T) {
	t.Helper()
	if _, _, err := kafkaRuntime(); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
}

// The demo cannot read the pom (it runs away from the source tree): its
// version must be the one scripts/kafka-jars.sh fetches.
func TestKafkaVersionIsThePoms(t *testing.T) {
	b, err := os.ReadFile("../testenv/kafka/pom.xml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<kafka\.version>([^<]+)</kafka\.version>`).FindSubmatch(b)
	if m == nil || string(m[1]) != kafkaVersion {
		t.Fatalf("testenv/kafka/pom.xml names Kafka %q, the demo looks for %q", m, kafkaVersion)
	}
}

func TestDemoKafkaVerifiesAndReapsChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kafka broker and six processes; run without -short")
	}
	needKafka(t)
	stdout, stderr, code := runPulse(t, 4*time.Minute, "demo", "-kafka", "-events", "40000", "-rate", "8000")
	if code != 0 || !strings.Contains(stdout, "verified: all 40000 events in the topic and the archive") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"killed merger1 (kill -9)", "merger2 assigned partitions", "restarted merger1",
		"events topic (read back)     40000 lines, 40000 unique ids, 0 duplicates, 0 missing",
		"demo.events counted 40000 of 40000 events — ok",
		"0 differing from the files",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if got := strings.Count(stdout, "0 not final"); got != 2 {
		t.Errorf("%d snapshot views with every window final, want 2:\n%s", got, stdout)
	}
	_, list, ok := strings.Cut(stdout, "child processes: pids")
	if !ok {
		t.Fatalf("no pid list in the summary:\n%s", stdout)
	}
	pids := strings.Fields(strings.SplitN(list, "\n", 2)[0])
	if len(pids) != 7 { // broker, 2 mergers, archive, gen, agent + the restarted merger
		t.Errorf("%d child pids, want 7: %v", len(pids), pids)
	}
	for _, s := range pids {
		pid, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("pid %q: %v", s, err)
		}
		testenv.WaitFor(t, 5*time.Second, fmt.Sprintf("child %d gone", pid), func() bool {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
			return os.IsNotExist(err)
		})
	}
}

// Without the jars the demo says what to run, and starts (or leaves)
// nothing.
func TestDemoKafkaWithoutJarsSaysWhatToRun(t *testing.T) {
	cmd := exec.Command(pulseBin, "demo", "-kafka", "-events", "10")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PULSE_KAFKA_LIBS="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"scripts/kafka-jars.sh", "Java 17", "Maven", "Kafka " + kafkaVersion} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if stdout.Len() > 0 {
		t.Errorf("started something without a broker:\n%s", stdout.String())
	}
}

func TestBenchKafkaReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kafka broker; run without -short")
	}
	needKafka(t)
	testenv.NeedTool(t, "kcat", "kcat")
	out := t.TempDir()
	stdout, stderr, code := runPulse(t, 4*time.Minute, "bench", "-to", "kafka", "-events", "20000", "-out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "kafka-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r KafkaBenchReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("kafka-report.json: %v\n%s", err, b)
	}
	if r.Events != 20000 || r.Bytes == 0 || len(r.Runs) != 3 {
		t.Fatalf("report: %s", b)
	}
	for i, name := range []string{"agent-if16", "agent-if64", "kcat"} {
		run := r.Runs[i]
		if run.Name != name || run.Seconds <= 0 || run.EventsPS <= 0 || run.CPUSeconds <= 0 || run.PeakRSSBytes == 0 || run.Records < 20000 ||
			run.OverKcat.EventsPS <= 0 || run.OverKcat.CPUPerMEvents <= 0 {
			t.Errorf("run %d: %+v, want %s with every figure", i, run, name)
		}
		if run.IDs.Unique != 20000 || run.IDs.Missing != 0 {
			t.Errorf("%s's topic: %s", name, run.IDs)
		}
	}
	if r.Runs[0].DiskBytes == 0 || r.Runs[1].DiskBytes == 0 {
		t.Error("an agent wrote nothing to its buffer")
	}
	if r.Runs[2].OverKcat.EventsPS != 1 {
		t.Errorf("kcat's ratio to itself: %v", r.Runs[2].OverKcat)
	}
	if !strings.Contains(stdout, "÷ kcat") {
		t.Errorf("no ratio in the table:\n%s", stdout)
	}
}

func TestSnapSetKeepsTheLatestBySeq(t *testing.T) {
	set := newSnapSet()
	for _, l := range []string{
		`{"name":"demo.events","kind":"counter","dims":{"source":"web.1"},"window_start":"2026-01-01T00:00:00Z","count":3,"final":false,"seq":10}`,
		`{"name":"demo.events","kind":"counter","dims":{"source":"web.1"},"window_start":"2026-01-01T00:00:00Z","count":5,"final":true,"seq":30}`,
		// A late delivery of an older view (a restarted merger's buffer).
		`{"name":"demo.events","kind":"counter","dims":{"source":"web.1"},"window_start":"2026-01-01T00:00:00Z","count":4,"final":false,"seq":20}`,
		`{"name":"demo.events","kind":"counter","dims":{"source":"web.2"},"window_start":"2026-01-01T00:00:00Z","count":7,"final":true,"seq":20}`,
		`{"name":"demo.events","kind":"counter","dims":{"source":"web.1"},"window_start":"2026-01-01T00:00:05Z","count":1,"final":true,"seq":40}`,
	} {
		if err := set.add([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	var c snapCheck
	checkSnaps(&c, set, nil, 13, time.Now())
	if !c.Passed || c.Records != 5 || c.KeyWindows != 3 || c.Counted != 13 || c.NotFinal != 0 {
		t.Errorf("check %+v, want passed: 5 records, 3 key windows, 13 counted", c)
	}

	// Against a reference missing a window and counting another otherwise.
	ref := newSnapSet()
	for _, l := range []string{
		`{"name":"demo.events","kind":"counter","dims":{"source":"web.1"},"window_start":"2026-01-01T00:00:00Z","count":4,"final":true,"seq":30}`,
		`{"name":"demo.events","kind":"counter","dims":{"source":"web.2"},"window_start":"2026-01-01T00:00:00Z","count":7,"final":true,"seq":20}`,
	} {
		if err := ref.add([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	c = snapCheck{}
	checkSnaps(&c, set, ref, 13, time.Now())
	if c.Passed || c.Differ != 2 {
		t.Errorf("check %+v, want 2 differing, not passed", c)
	}
	if err := set.add([]byte(`{"name":`)); err == nil {
		t.Error("a torn snapshot parsed")
	}
}
