package gen

import "strconv"

// The metric names of l2met lines, per kind.
var (
	l2metCounts   = [...]string{"checkout.completed", "signup", "email.sent", "cache.hit", "cache.miss"}
	l2metMeasures = [...]string{"db.query", "http.external", "render.template", "job.duration"}
	l2metSamples  = [...]string{"queue.depth", "workers.busy", "db.pool.in_use"}
	l2metUniques  = [...]string{"user", "session"}
)

// appendL2met appends an application's l2met message, one to four metrics
// in the conventions of github.com/ryandotsmith/l2met:
//
//	source=web.1 count#checkout.completed=1 measure#db.query=12.5ms
//	sample#queue.depth=4 unique#user=u123
func (g *Generator) appendL2met(dst []byte, d *dyno) []byte {
	r := g.rng
	dst = append(dst, "source="...)
	dst = append(dst, d.name...)
	counted := false
	if r.IntN(100) < 60 {
		counted = true
		dst = append(dst, " count#"...)
		dst = append(dst, l2metCounts[r.IntN(len(l2metCounts))]...)
		dst = append(dst, '=')
		dst = strconv.AppendInt(dst, int64(1+r.IntN(3)/2), 10) // mostly 1
	}
	if !counted || r.IntN(100) < 50 {
		dst = append(dst, " measure#"...)
		dst = append(dst, l2metMeasures[r.IntN(len(l2metMeasures))]...)
		dst = append(dst, '=')
		dst = strconv.AppendFloat(dst, g.measure.draw(r.Uint64()), 'f', 1, 64)
		dst = append(dst, "ms"...)
	}
	if r.IntN(100) < 30 {
		dst = append(dst, " sample#"...)
		dst = append(dst, l2metSamples[r.IntN(len(l2metSamples))]...)
		dst = append(dst, '=')
		dst = strconv.AppendInt(dst, int64(r.IntN(20)), 10)
	}
	if r.IntN(100) < 30 {
		dst = append(dst, " unique#"...)
		dst = append(dst, l2metUniques[r.IntN(len(l2metUniques))]...)
		dst = append(dst, "=u"...)
		dst = strconv.AppendInt(dst, int64(r.IntN(10_000)), 10)
	}
	return dst
}
