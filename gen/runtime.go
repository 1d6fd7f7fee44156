package gen

import (
	"strconv"
)

// appendRuntime appends a log-runtime-metrics message, the memory or the
// load sample of a dyno, as Heroku emits them every 20 seconds:
//
//	source=web.1 dyno=heroku.1234.abcd... sample#memory_total=21.33MB
//	sample#memory_rss=20.11MB sample#memory_cache=1.22MB ...
//	source=web.1 dyno=heroku.1234.abcd... sample#load_avg_1m=0.01 ...
//
// Memory and load drift as random walks per dyno.
func (g *Generator) appendRuntime(dst []byte, d *dyno) []byte {
	r := g.rng
	dst = append(dst, "source="...)
	dst = append(dst, d.name...)
	dst = append(dst, " dyno="...)
	dst = append(dst, d.runtimeID...)
	if r.IntN(2) == 0 {
		d.load = min(max(d.load+0.05*r.Step(), 0), 8)
		dst = appendSample(dst, "load_avg_1m", d.load, 2, "")
		dst = appendSample(dst, "load_avg_5m", d.load*0.9, 2, "")
		return appendSample(dst, "load_avg_15m", d.load*0.8, 2, "")
	}
	d.memMB = min(max(d.memMB+2*r.Step(), 60), 500)
	rss := d.memMB * (0.9 + 0.05*r.Float64())
	dst = appendSample(dst, "memory_total", d.memMB, 2, "MB")
	dst = appendSample(dst, "memory_rss", rss, 2, "MB")
	dst = appendSample(dst, "memory_cache", d.memMB-rss, 2, "MB")
	dst = appendSample(dst, "memory_swap", 0, 2, "MB")
	dst = append(dst, " sample#memory_pgpgin="...)
	dst = strconv.AppendInt(dst, int64(d.memMB*256)+r.Int64N(1000), 10)
	dst = append(dst, "pages sample#memory_pgpgout="...)
	dst = strconv.AppendInt(dst, int64(d.memMB*200)+r.Int64N(1000), 10)
	dst = append(dst, "pages"...)
	return appendSample(dst, "memory_quota", 512, 2, "MB")
}

// appendSample appends " sample#name=<v><unit>".
func appendSample(dst []byte, name string, v float64, prec int, unit string) []byte {
	dst = append(dst, " sample#"...)
	dst = append(dst, name...)
	dst = append(dst, '=')
	dst = strconv.AppendFloat(dst, v, 'f', prec, 64)
	return append(dst, unit...)
}
