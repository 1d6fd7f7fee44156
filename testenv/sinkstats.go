package testenv

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// SinkStats are the counters a `pulse sink` answers a GET with: events,
// batches, bytes, requests, refused, and with -ids unique, duplicates,
// missing and unknown.
type SinkStats map[string]int64

// SinkStats reads the counters of a node started by StartSink.
func (n *Node) SinkStats() (SinkStats, error) {
	resp, err := statusClient.Get("http://" + n.Addr + "/")
	if err != nil {
		return nil, fmt.Errorf("testenv: %s: stats: %w", n.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("testenv: %s: stats: %w", n.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("testenv: %s: stats: %s", n.Name, resp.Status)
	}
	return parseSinkStats(string(body))
}

// parseSinkStats reads "events=12 batches=3 …".
func parseSinkStats(line string) (SinkStats, error) {
	s := SinkStats{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("testenv: sink stats: %q is not key=value", f)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("testenv: sink stats: %s: %w", k, err)
		}
		s[k] = n
	}
	if _, ok := s["events"]; !ok {
		return nil, fmt.Errorf("testenv: sink stats: no events in %q", line)
	}
	return s, nil
}

// ClusterEvents returns how many events the nodes of cluster i have
// written together, duplicates included.
func (f *Fanout) ClusterEvents(cluster int) (int64, error) {
	var total int64
	for _, n := range f.Clusters[cluster] {
		s, err := n.SinkStats()
		if err != nil {
			return 0, err
		}
		total += s["events"]
	}
	return total, nil
}
