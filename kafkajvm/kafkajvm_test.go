package kafkajvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJavaMajor(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want int
	}{
		{`openjdk version "17.0.15" 2025-04-15`, 17},
		{`openjdk version "25" 2025-09-16`, 25},
		{`java version "1.8.0_392"`, 8},
		{`no version here`, 0},
	} {
		if got := javaMajor(tc.out); got != tc.want {
			t.Errorf("javaMajor(%q) = %d, want %d", tc.out, got, tc.want)
		}
	}
}

// TestClusterID: never an id the storage tool takes for an option, always
// Kafka's 22 characters.
func TestClusterID(t *testing.T) {
	for range 2000 {
		id, err := ClusterID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 22 || id[0] == '-' {
			t.Fatalf("cluster id %q", id)
		}
	}
}

// TestWriteConfig: the internal topics' replication follows the cluster's
// size (3 at most, min ISR 2 at most), and the extra listener and
// properties land where they belong.
func TestWriteConfig(t *testing.T) {
	for _, tc := range []struct {
		voters     []string
		rf, minISR string
	}{
		{[]string{"0@127.0.0.1:1"}, "1", "1"},
		{[]string{"0@127.0.0.1:1", "1@127.0.0.1:2", "2@127.0.0.1:3"}, "3", "2"},
	} {
		dir := t.TempDir()
		err := WriteConfig(Node{ID: 0, Dir: dir, Addr: "127.0.0.1:9", Ctrl: "127.0.0.1:1", Voters: tc.voters,
			Listeners: ",CLIENT://127.0.0.1:10", Protocols: ",CLIENT:SASL_SSL", Props: []string{"x.y=z"}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "server.properties"))
		if err != nil {
			t.Fatal(err)
		}
		props := string(b)
		for _, want := range []string{
			"offsets.topic.replication.factor=" + tc.rf + "\n",
			"transaction.state.log.min.isr=" + tc.minISR + "\n",
			"listeners=PLAINTEXT://127.0.0.1:9,CONTROLLER://127.0.0.1:1,CLIENT://127.0.0.1:10\n",
			"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CLIENT:SASL_SSL\n",
			"controller.quorum.voters=" + strings.Join(tc.voters, ",") + "\n",
			"\nx.y=z\n",
		} {
			if !strings.Contains(props, want) {
				t.Errorf("%d voters: server.properties lacks %q:\n%s", len(tc.voters), want, props)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "log4j2.properties")); err != nil {
			t.Error(err)
		}
	}
}
