package demo

import (
	"testing"
	"time"
)

func TestDrainOf(t *testing.T) {
	// Live input at 100/s; cluster b down from 2 s to 5 s: 300 events
	// pile up, then drain at 250/s (150 backlog + 100 live a second).
	var series []Sample
	var in, del, buf int64
	for sec := 0; sec <= 9; sec++ {
		series = append(series, Sample{T: float64(sec), InputEvents: in,
			Delivered: map[string]int64{"b": del}, BufferEvents: map[string]int64{"b": buf}, BufferBytes: map[string]int64{"b": buf * 10}})
		in += 100
		switch {
		case sec >= 2 && sec < 5:
			buf += 100
		case sec >= 5 && buf > 0:
			del += 250
			buf -= 150
		default:
			del += 100
		}
	}
	d := drainOf(series, &downSpec{cluster: "b", from: 2 * time.Second, to: 5 * time.Second})
	if d == nil {
		t.Fatal("no drain measured")
	}
	want := Drain{Cluster: "b", Backlog: 300, BacklogBytes: 3000, LiveEventsPS: 100, DrainSeconds: 2, DrainEventsPS: 250, Ratio: 2.5}
	if *d != want {
		t.Fatalf("drain = %+v, want %+v", *d, want)
	}
	if drainOf(series, &downSpec{cluster: "b", from: 2 * time.Second}) != nil {
		t.Error("a cluster that never came back has no drain")
	}
	if drainOf(series[:6], &downSpec{cluster: "b", from: 2 * time.Second, to: 5 * time.Second}) != nil {
		t.Error("a cluster that never caught up has no drain")
	}
}
