package parse

// RuntimeLine is a Heroku log-runtime-metrics line, either the memory one
//
//	source=web.1 dyno=heroku.2808254.d97d0ea7-cf3d-411b-b453-d2943a50b456 sample#memory_total=21.00MB sample#memory_rss=21.22MB sample#memory_cache=0.00MB sample#memory_swap=0.00MB sample#memory_pgpgin=348836pages sample#memory_pgpgout=343403pages sample#memory_quota=512.00MB
//
// or the load one
//
//	source=web.1 dyno=heroku.2808254.d97d0ea7-cf3d-411b-b453-d2943a50b456 sample#load_avg_1m=2.46 sample#load_avg_5m=1.06 sample#load_avg_15m=0.99
//
// Byte fields alias the line.
type RuntimeLine struct {
	Source []byte // web.1
	Dyno   []byte

	// Memory, in MB (2^20 bytes; another size unit is converted, a bare
	// number taken as MB). HasMemory says the line had memory samples.
	HasMemory   bool
	MemoryTotal float64
	MemoryRSS   float64
	MemoryCache float64
	MemorySwap  float64
	MemoryQuota float64
	PagesIn     int64 // memory_pgpgin, pages
	PagesOut    int64 // memory_pgpgout, pages

	// Load averages. HasLoad says the line had them.
	HasLoad    bool
	LoadAvg1m  float64
	LoadAvg5m  float64
	LoadAvg15m float64
}

// RuntimeMetrics reads a Heroku log-runtime-metrics line. ok is false
// unless it has source= and at least one memory or load sample, and every
// such sample is well-formed. Other sample# keys are passed over.
func RuntimeMetrics(line []byte) (r RuntimeLine, ok bool) {
	var s LogfmtScanner
	s.Reset(line)
	for s.Next() {
		v := s.Value()
		ok := true
		switch string(s.Key()) {
		case "source":
			r.Source = v
		case "dyno":
			r.Dyno = v
		case "sample#memory_total":
			r.MemoryTotal, ok = megabytes(v)
			r.HasMemory = true
		case "sample#memory_rss":
			r.MemoryRSS, ok = megabytes(v)
			r.HasMemory = true
		case "sample#memory_cache":
			r.MemoryCache, ok = megabytes(v)
			r.HasMemory = true
		case "sample#memory_swap":
			r.MemorySwap, ok = megabytes(v)
			r.HasMemory = true
		case "sample#memory_quota":
			r.MemoryQuota, ok = megabytes(v)
			r.HasMemory = true
		case "sample#memory_pgpgin":
			r.PagesIn, ok = pages(v)
			r.HasMemory = true
		case "sample#memory_pgpgout":
			r.PagesOut, ok = pages(v)
			r.HasMemory = true
		case "sample#load_avg_1m":
			r.LoadAvg1m, ok = parseFloat(v)
			r.HasLoad = true
		case "sample#load_avg_5m":
			r.LoadAvg5m, ok = parseFloat(v)
			r.HasLoad = true
		case "sample#load_avg_15m":
			r.LoadAvg15m, ok = parseFloat(v)
			r.HasLoad = true
		}
		if !ok {
			return RuntimeLine{}, false
		}
	}
	if len(r.Source) == 0 || !r.HasMemory && !r.HasLoad {
		return RuntimeLine{}, false
	}
	return r, true
}

// megabytes reads a memory sample as MB.
func megabytes(v []byte) (float64, bool) {
	value, unit, ok := Quantity(v)
	switch {
	case !ok:
		return 0, false
	case len(unit) == 0 || string(unit) == "MB":
		return value, true
	}
	b, ok := Bytes(value, unit)
	return b / (1 << 20), ok
}

// pages reads a page count: "348836pages" or a bare number.
func pages(v []byte) (int64, bool) {
	if n := len(v) - len("pages"); n > 0 && string(v[n:]) == "pages" {
		v = v[:n]
	}
	return atoi(v, 1<<62)
}
