package sink

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"pulse/testenv"
)

// TestDownFor: for DownFor after start every request is answered
// DownStatus (with Retry-After for 503 and 429) and nothing is written;
// then the sink serves normally.
func TestDownFor(t *testing.T) {
	const down = time.Second
	tests := []struct {
		status     int
		retryAfter string
	}{
		{0, "1"}, // default 503
		{http.StatusTooManyRequests, "1"},
		{http.StatusInternalServerError, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			want := tc.status
			if want == 0 {
				want = http.StatusServiceUnavailable
			}
			s := startSink(t, Options{DownFor: down, DownStatus: tc.status})
			start := time.Now() // the window opened a little earlier
			var accepted []string
			refused, i := 0, 0
			send := func() reply {
				evs := events(fmt.Sprintf("req=%d", i), 3)
				i++
				sent := time.Now()
				r := post(t, s.url, "text/plain", "", linesBody(evs))
				switch r.status {
				case want:
					if len(accepted) > 0 {
						t.Fatalf("request %d refused after the window had closed", i)
					}
					if got := r.header.Get("Retry-After"); got != tc.retryAfter {
						t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
					}
					refused++
				case http.StatusOK:
					if since := sent.Sub(start); since < down-50*time.Millisecond {
						t.Fatalf("accepted %v after start, inside the %v window", since, down)
					}
					accepted = append(accepted, evs...)
				default:
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return r
			}
			testenv.WaitFor(t, down+10*time.Second, "a request accepted after the window", func() bool {
				return send().status == http.StatusOK
			})
			for range 3 {
				send()
			}
			if refused == 0 {
				t.Error("no request refused in the window")
			}
			if got := readLines(t, s.opts.Dir); !slices.Equal(got, accepted) {
				t.Errorf("files hold %d lines, want the %d accepted", len(got), len(accepted))
			}
			if st := s.Stats(); st.Refused != int64(refused) || st.Events != int64(len(accepted)) {
				t.Errorf("stats %+v, want %d refused and %d events", st, refused, len(accepted))
			}
		})
	}
}

// TestFailRate: with FailRate 0.5 about half the POSTs are refused with
// 503 + Retry-After, the same ones for the same seed, and a refused batch
// writes nothing.
func TestFailRate(t *testing.T) {
	const n = 200
	run := func(seed uint64) []bool {
		s := startSink(t, Options{FailRate: 0.5, Seed: seed})
		var accepted []string
		fates := make([]bool, n)
		for i := range n {
			evs := events(fmt.Sprintf("req=%d", i), 2)
			r := post(t, s.url, "application/x-ndjson", "", linesBody(evs))
			switch r.status {
			case http.StatusOK:
				accepted = append(accepted, evs...)
			case http.StatusServiceUnavailable:
				if r.header.Get("Retry-After") != "1" {
					t.Errorf("request %d: 503 without Retry-After: 1", i)
				}
				fates[i] = true
			default:
				t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
			}
		}
		refused := n - len(accepted)/2
		if refused < n*3/10 || refused > n*7/10 {
			t.Errorf("seed %d: %d of %d refused, want about half", seed, refused, n)
		}
		if got := readLines(t, s.opts.Dir); !slices.Equal(got, accepted) {
			t.Errorf("seed %d: files hold %d lines, want the %d accepted", seed, len(got), len(accepted))
		}
		if st := s.Stats(); st.Refused != int64(refused) || st.Batches != int64(n-refused) {
			t.Errorf("seed %d: stats %+v, want %d refused", seed, st, refused)
		}
		return fates
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Error("seed 1 refused different requests in two runs")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 1 and 2 refused the same requests")
	}
}

// TestFaultChoices: the refusal rate follows FailRate over many draws.
func TestFaultChoices(t *testing.T) {
	for _, rate := range []float64{0, 0.01, 0.2, 0.5, 0.9, 1} {
		f := faults{failRate: rate, seed: 1}
		const draws = 100_000
		n := 0
		for range draws {
			if f.fail() {
				n++
			}
		}
		if got := float64(n) / draws; got < rate-0.01 || got > rate+0.01 {
			t.Errorf("rate %v: refused %v", rate, got)
		}
	}
}
