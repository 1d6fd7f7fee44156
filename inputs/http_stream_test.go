package inputs

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"pulse/event"
	"pulse/protocol"
)

// An input takes the stream it is configured for, and no other.
func TestHTTPStream(t *testing.T) {
	body := pulseBody("r1", "r2")
	tests := []struct {
		name   string
		stream string // HTTPOptions.Stream
		header string // X-Pulse-Stream sent, "" for none
		status int
		msg    string
	}{
		{"default takes events", "", "events", 200, ""},
		{"default takes no header", "", "", 200, ""},
		{"default refuses fragments", "", "fragments", 400, `X-Pulse-Stream "fragments": this input takes the "events" stream`},
		{"fragments takes fragments", StreamFragments, "fragments", 200, ""},
		{"fragments takes no header", StreamFragments, "", 200, ""},
		{"fragments refuses events", StreamFragments, "events", 400, `X-Pulse-Stream "events": this input takes the "fragments" stream`},
		{"fragments refuses snapshots", StreamFragments, "snapshots", 400, `this input takes the "fragments" stream`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := startHTTP(t, HTTPOptions{Format: FormatPulse, Stream: tc.stream}, rec.emit)
			var headers []string
			if tc.header != "" {
				headers = []string{protocol.HeaderStream, tc.header}
			}
			r := post(t, nil, "POST", s.url+protocol.Path, body, headers...)
			if r.status != tc.status || !strings.Contains(r.body, tc.msg) {
				t.Fatalf("got %d %q, want %d with %q", r.status, r.body, tc.status, tc.msg)
			}
			wantEvents, wantBad := 2, int64(0)
			if tc.status != 200 {
				wantEvents, wantBad = 0, 1
			}
			if n := rec.count(); n != wantEvents {
				t.Errorf("%d events emitted, want %d", n, wantEvents)
			}
			if st := s.h.Stats(); st.Rejected.BadBody != wantBad || st.Rejected.Total() != wantBad {
				t.Errorf("rejections %+v, want %d bad body", st.Rejected, wantBad)
			}
		})
	}
}

func TestNewHTTPStreamOptions(t *testing.T) {
	for _, o := range []HTTPOptions{
		{Listen: "127.0.0.1:0", Stream: "snapshots"},
		{Listen: "127.0.0.1:0", Stream: "Events"},
		{Listen: "127.0.0.1:0", Stream: StreamFragments, Format: FormatLines},
	} {
		if _, err := NewHTTP(o); err == nil {
			t.Errorf("NewHTTP(stream %q, format %q) = nil error", o.Stream, o.Format)
		}
	}
	h, err := NewHTTP(HTTPOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if h.opts.Stream != StreamEvents {
		t.Errorf("default stream %q, want %q", h.opts.Stream, StreamEvents)
	}
}

// An emit refusing a batch for good (event.ErrRejected) gets the client a 400,
// never retried, rather than a 503.
func TestHTTPEmitRejected(t *testing.T) {
	reject := func(context.Context, *event.Batch) error {
		return fmt.Errorf("merger: record 1 of 2: %w: not a fragment", event.ErrRejected)
	}
	s := startHTTP(t, HTTPOptions{Format: FormatPulse, Stream: StreamFragments}, reject)
	r := post(t, nil, "POST", s.url+protocol.Path, pulseBody("a", "b"), protocol.HeaderStream, StreamFragments)
	if r.status != http.StatusBadRequest || r.retryAfter != "" || !strings.Contains(r.body, "record 1 of 2: batch rejected: not a fragment") {
		t.Errorf("got %d Retry-After %q %q, want 400 naming the record", r.status, r.retryAfter, r.body)
	}
	if st := s.h.Stats(); st.Rejected.BadBody != 1 || st.Rejected.Total() != 1 || st.Events != 0 {
		t.Errorf("stats %+v, want one rejection, bad body", st)
	}
}
