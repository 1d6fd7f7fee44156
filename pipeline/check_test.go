package pipeline

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestCheckInputCountsAndForwards(t *testing.T) {
	tests := []struct {
		format string
		lines  []string
		want   map[string]int64
	}{
		{ParseLogfmt, []string{"at=info a=1", "", "   ", "k=v"}, map[string]int64{"no_fields": 1}},
		{ParseJSON, []string{`{"a":1}`, `[1]`, `{"a":`, `nope`}, map[string]int64{"not_a_json_object": 3}},
		{ParseSyslog, []string{"<34>1 2003-10-11T22:14:15.003Z host app - ID47 - hi", "<34>Oct 11 22:14:15 mymachine su: hi", "no priority", "<999>1 x"}, map[string]int64{"bad_priority": 2}},
		{ParseRouter, []string{`at=info method=GET path="/" host=x request_id=1 fwd="1.2.3.4" dyno=web.1 connect=1ms service=2ms status=200 bytes=3 protocol=https`, "hello"}, map[string]int64{"not_a_router_line": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			sink := &memSink{}
			r, err := NewRouter("h", []OutputOptions{{Name: "o", Encoding: Lines, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: sink}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.CheckInput("app", tt.format, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			var in []string
			for _, l := range tt.lines {
				if l != "" {
					in = append(in, l)
				}
			}
			b := batchOf(in...)
			if err := r.Emit(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			_ = r.Flush(context.Background())
			got := r.ParseErrors("app")
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: %d, want %d (all: %v)", k, got[k], v, got)
				}
			}
			if _, ev := sink.all(); len(ev) != 1 || ev[0] != len(in) {
				t.Errorf("forwarded %v events, want every one of %d", ev, len(in))
			}
		})
	}
	r, _ := NewRouter("h", nil, nil)
	if err := r.CheckInput("x", "yaml", nil); err == nil {
		t.Error("unknown format accepted")
	}
}
