package merger

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"pulse/inputs"
	"pulse/protocol"
	"pulse/testenv"
)

// Through a real HTTP input of the fragments stream: a good batch gets
// 200 once stored, a batch with a record that is not a fragment gets 400
// and nothing of it is merged.
func TestHTTPInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 2, 3, 600, 2)
	sink := newSnapshotSink()
	m := newTestMerger(t, t.TempDir(), sink.emit)
	runMerger(t, m)

	in, err := inputs.NewHTTP(inputs.HTTPOptions{Listen: "127.0.0.1:0", Stream: inputs.StreamFragments, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, m.Emit) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("http input: %v", err)
		}
	})
	select {
	case <-in.Ready():
	case err := <-done:
		t.Fatalf("http input: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("http input not ready")
	}
	url := "http://" + in.Addr() + protocol.Path
	post := func(recs ...[]byte) (int, string) {
		var pw protocol.Writer
		pw.Reset(nil)
		for _, r := range recs {
			pw.Append(r)
		}
		req, err := http.NewRequest("POST", url, bytes.NewReader(pw.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(protocol.HeaderStream, inputs.StreamFragments)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	if code, body := post(w.frags[0], []byte("not a fragment")); code != 400 || !strings.Contains(body, "record 2 of 2") {
		t.Errorf("bad batch: %d %q, want 400 naming record 2", code, body)
	}
	half := len(w.frags) / 2
	for _, part := range [][][]byte{w.frags[:half], w.frags[half:], w.frags[:half]} {
		if code, body := post(part...); code != 200 {
			t.Fatalf("good batch: %d %q", code, body)
		}
	}
	testenv.WaitFor(t, 20*time.Second, "every batch merged", func() bool { return m.Stats().BatchesMerged == 3 })
	testenv.WaitFor(t, 20*time.Second, "snapshots complete", func() bool {
		got, _ := sink.snapshot()
		return complete(got, w.ref)
	})
	got, err := sink.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshots(t, got, w.ref)
	if st := m.Stats(); st.Rejected != 1 || st.Batches != 3 || st.Merged != uint64(len(w.frags)) || st.Duplicates != uint64(half) {
		t.Errorf("stats %+v: want 1 rejected, 3 batches, %d merged, %d duplicates", st, len(w.frags), half)
	}
	if st := in.Stats(); st.Rejected.BadBody != 1 || st.Rejected.Total() != 1 {
		t.Errorf("input rejections %+v, want one bad body", st.Rejected)
	}
}
