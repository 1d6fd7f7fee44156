package metrics

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Snapshot is the merged view of one key over one window.
//
// In JSON, fields that do not apply to the kind are omitted, not null:
// p50, p90, p95, p99 and sketch appear only for measures, unique and hll
// only for unique keys, rate only for counters and measures, and last and
// last_time only for samples. Non-finite numbers, which JSON cannot carry,
// are written as null.
type Snapshot struct {
	Name        string
	Kind        Kind
	Unit        string
	Dims        []Dim // sorted by name; a JSON object
	WindowStart time.Time
	Window      time.Duration
	Count       uint64
	Sum         float64
	SumSq       float64 // of squared values: with Count and Sum, what rolls the stddev up exactly
	Mean        float64
	Min         float64
	Max         float64
	Stddev      float64 // population standard deviation, from the sum of squares
	// Quantiles from the DDSketch, for measures: Pq is within 1% (relative)
	// of the q-th lower quantile, the value at rank floor(q*(Count-1)) of
	// the sorted values.
	P50, P90, P95, P99 float64
	// Unique is the HyperLogLog estimate of distinct raw values, for unique keys.
	Unique uint64
	// Rate is per second of window: for a counter its Sum (the counter's
	// increase), for a measure its Count (observations).
	Rate float64
	// Last is a sample's value with the latest event time, at LastTime.
	Last     float64
	LastTime time.Time
	Agents   int  // distinct contributing agents
	Final    bool // the window is closed: no later snapshot of it will come
	// Sketch is a measure's DDSketch and HLL a unique key's HyperLogLog,
	// in the encodings of the fragments stream (DecodeSketch, DecodeHLL):
	// a store of snapshots merges them to roll windows up. Nil for other
	// kinds. base64 in JSON.
	Sketch, HLL []byte
	// Seq orders the snapshots of one key and window: of two, the one with
	// the larger Seq is the later view. The merge stage sets it as it
	// emits; 0 when unset.
	Seq uint64
}

var snapshotQuantiles = []float64{0.50, 0.90, 0.95, 0.99}

func (e *mEntry) snapshot(final bool) Snapshot {
	f := e.acc
	s := Snapshot{
		Name:        f.Name,
		Kind:        f.Kind,
		Unit:        f.Unit,
		Dims:        f.Dims,
		WindowStart: f.Start,
		Window:      f.Len,
		Count:       f.Count,
		Sum:         f.Sum,
		SumSq:       f.SumSq,
		Mean:        f.Mean(),
		Min:         f.Min,
		Max:         f.Max,
		Stddev:      f.Stddev(),
		Agents:      len(e.agents),
		Final:       final,
	}
	secs := f.Len.Seconds()
	switch f.Kind {
	case Counter:
		s.Rate = f.Sum / secs
	case Measure:
		s.Rate = float64(f.Count) / secs
		if f.Sketch != nil && !f.Sketch.IsEmpty() {
			q, err := f.Sketch.GetValuesAtQuantiles(snapshotQuantiles)
			if err == nil {
				s.P50, s.P90, s.P95, s.P99 = q[0], q[1], q[2], q[3]
			}
		}
		s.Sketch = appendSketch(nil, f.Sketch)
	case Sample:
		s.Last, s.LastTime = f.Last, f.LastTime
	case Unique:
		if f.HLL != nil {
			s.Unique = f.HLL.Estimate()
		}
		s.HLL = appendHLL(nil, f.HLL)
	}
	return s
}

// MarshalJSON writes the snapshot with the field names of the snapshots
// stream; see AppendJSON.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(nil), nil
}

// AppendJSON appends s as one JSON object:
//
//	{"name":..,"kind":"measure","unit":..,"dims":{..},"window_start":RFC 3339,
//	 "window_s":10,"count":..,"sum":..,"sumsq":..,"mean":..,"min":..,"max":..,
//	 "stddev":..,"p50":..,"p90":..,"p95":..,"p99":..,"sketch":base64,
//	 "unique":..,"hll":base64,"rate":..,"last":..,"last_time":..,"agents":..,
//	 "final":false,"seq":..}
func (s *Snapshot) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, s.Name)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, s.Kind.String()...)
	dst = append(dst, `","unit":`...)
	dst = appendJSONString(dst, s.Unit)
	dst = append(dst, `,"dims":{`...)
	for i, d := range s.Dims {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, d.Name)
		dst = append(dst, ':')
		dst = appendJSONString(dst, d.Value)
	}
	dst = append(dst, `},"window_start":"`...)
	dst = s.WindowStart.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","window_s":`...)
	dst = appendJSONFloat(dst, s.Window.Seconds())
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendUint(dst, s.Count, 10)
	dst = appendField(dst, "sum", s.Sum)
	dst = appendField(dst, "sumsq", s.SumSq)
	dst = appendField(dst, "mean", s.Mean)
	dst = appendField(dst, "min", s.Min)
	dst = appendField(dst, "max", s.Max)
	dst = appendField(dst, "stddev", s.Stddev)
	switch s.Kind {
	case Measure:
		dst = appendField(dst, "p50", s.P50)
		dst = appendField(dst, "p90", s.P90)
		dst = appendField(dst, "p95", s.P95)
		dst = appendField(dst, "p99", s.P99)
		dst = appendBase64(dst, "sketch", s.Sketch)
		dst = appendField(dst, "rate", s.Rate)
	case Counter:
		dst = appendField(dst, "rate", s.Rate)
	case Unique:
		dst = append(dst, `,"unique":`...)
		dst = strconv.AppendUint(dst, s.Unique, 10)
		dst = appendBase64(dst, "hll", s.HLL)
	case Sample:
		dst = appendField(dst, "last", s.Last)
		dst = append(dst, `,"last_time":"`...)
		dst = s.LastTime.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"agents":`...)
	dst = strconv.AppendInt(dst, int64(s.Agents), 10)
	dst = append(dst, `,"final":`...)
	dst = strconv.AppendBool(dst, s.Final)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, s.Seq, 10)
	return append(dst, '}')
}

func appendBase64(dst []byte, name string, b []byte) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':', '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

func appendField(dst []byte, name string, v float64) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendJSONFloat(dst, v)
}

func appendJSONFloat(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s for JSON; invalid UTF-8 becomes U+FFFD, as in
// encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// snapshotJSON mirrors the JSON form for decoding.
type snapshotJSON struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Unit        string            `json:"unit"`
	Dims        map[string]string `json:"dims"`
	WindowStart time.Time         `json:"window_start"`
	WindowS     float64           `json:"window_s"`
	Count       uint64            `json:"count"`
	Sum         *float64          `json:"sum"`
	SumSq       *float64          `json:"sumsq"`
	Mean        *float64          `json:"mean"`
	Min         *float64          `json:"min"`
	Max         *float64          `json:"max"`
	Stddev      *float64          `json:"stddev"`
	P50         *float64          `json:"p50"`
	P90         *float64          `json:"p90"`
	P95         *float64          `json:"p95"`
	P99         *float64          `json:"p99"`
	Unique      uint64            `json:"unique"`
	Rate        *float64          `json:"rate"`
	Last        *float64          `json:"last"`
	LastTime    time.Time         `json:"last_time"`
	Agents      int               `json:"agents"`
	Final       bool              `json:"final"`
	Sketch      []byte            `json:"sketch"` // base64, as encoding/json takes []byte
	HLL         []byte            `json:"hll"`
	Seq         uint64            `json:"seq"`
}

// UnmarshalJSON reads what MarshalJSON writes; null numbers become NaN.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	var j snapshotJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	k, err := ParseKind(j.Kind)
	if err != nil {
		return fmt.Errorf("metrics: snapshot: %w", err)
	}
	*s = Snapshot{
		Name: j.Name, Kind: k, Unit: j.Unit,
		WindowStart: j.WindowStart.UTC(),
		Window:      time.Duration(math.Round(j.WindowS * float64(time.Second))),
		Count:       j.Count, Unique: j.Unique, LastTime: j.LastTime.UTC(),
		Agents: j.Agents, Final: j.Final, Sketch: j.Sketch, HLL: j.HLL, Seq: j.Seq,
	}
	for name, value := range j.Dims {
		s.Dims = append(s.Dims, Dim{Name: name, Value: value})
	}
	SortDims(s.Dims)
	nanIfNull := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	s.Sum, s.SumSq, s.Mean, s.Min, s.Max, s.Stddev = nanIfNull(j.Sum), nanIfNull(j.SumSq), nanIfNull(j.Mean), nanIfNull(j.Min), nanIfNull(j.Max), nanIfNull(j.Stddev)
	if k == Measure {
		s.P50, s.P90, s.P95, s.P99 = nanIfNull(j.P50), nanIfNull(j.P90), nanIfNull(j.P95), nanIfNull(j.P99)
	}
	if k == Measure || k == Counter {
		s.Rate = nanIfNull(j.Rate)
	}
	if k == Sample {
		s.Last = nanIfNull(j.Last)
	}
	return nil
}
