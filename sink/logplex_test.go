package sink

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// logplexBody frames msgs as a Logplex drain does: "LEN MSG\n", the
// newline counted.
func logplexBody(msgs ...string) []byte {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%d %s\n", len(m)+1, m)
	}
	return []byte(b.String())
}

// TestLogplexBodies: a Logplex body (application/logplex-1, as pulse gen
// -format logplex posts it) is stored as its messages, one a line, without
// the octet counts; a body that does not frame or does not hold its
// Logplex-Msg-Count is refused and nothing of it is written.
func TestLogplexBodies(t *testing.T) {
	msgs := []string{
		"<158>1 2026-12-03T10:00:00.000000+00:00 host heroku router - at=info method=GET path=/ request_id=r-1",
		"<190>1 2026-12-03T10:00:00.100000+00:00 host app web.1 - request_id=r-2 hello world",
	}
	const ctype = "application/logplex-1"
	tests := []struct {
		name   string
		body   []byte
		header []string
		status int
		stored []string
	}{
		{"frames", logplexBody(msgs...), []string{"Logplex-Msg-Count", "2", "Logplex-Frame-Id", "f1"}, http.StatusOK, msgs},
		{"no count header", logplexBody(msgs[0]), nil, http.StatusOK, msgs[:1]},
		{"count disagrees", logplexBody(msgs...), []string{"Logplex-Msg-Count", "3"}, http.StatusBadRequest, nil},
		{"bad length", []byte("12x <158>1 ...\n"), nil, http.StatusBadRequest, nil},
		{"cut short", logplexBody(msgs...)[:150], nil, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startSink(t, Options{})
			r := post(t, ts.url, ctype+"; charset=utf-8", "", tt.body, tt.header...)
			if r.status != tt.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tt.status)
			}
			if err := ts.stop(); err != nil {
				t.Fatal(err)
			}
			got := readLines(t, ts.opts.Dir)
			if !slices.Equal(got, tt.stored) {
				t.Errorf("stored %q, want %q", got, tt.stored)
			}
		})
	}
}
