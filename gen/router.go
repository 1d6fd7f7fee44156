package gen

import "strconv"

// routePath is a request path: prefix, an optional number, suffix.
type routePath struct {
	prefix, suffix string
	num            int // numbers drawn from [1, num]; 0 for none
}

// routes are the paths of requests, drawn uniformly; the common ones appear
// more than once.
var routes = [...]routePath{
	{"/", "", 0},
	{"/", "", 0},
	{"/items/", "", 5000},
	{"/items/", "", 5000},
	{"/items/", "", 5000},
	{"/items/", "/reviews", 5000},
	{"/users/", "", 100000},
	{"/users/", "/orders", 100000},
	{"/cart", "", 0},
	{"/checkout", "", 0},
	{"/api/v1/items?page=", "", 50},
	{"/api/v1/search?q=term", "", 0},
	{"/assets/application-", ".js", 999999},
	{"/assets/application-", ".css", 999999},
	{"/healthz", "", 0},
}

// fwdNets are the documentation networks (RFC 5737) clients come from.
var fwdNets = [...]string{"203.0.113.", "198.51.100.", "192.0.2."}

// appendRouter appends a Heroku router line's message:
//
//	at=info method=GET path="/items/42" host=app.example.com request_id=...
//	fwd="203.0.113.7" dyno=web.3 connect=1ms service=37ms status=200
//	bytes=1534 protocol=https
//
// with a router error (at=error code=H12/H13 desc=...) for some 503s.
func (g *Generator) appendRouter(dst []byte, d *dyno) []byte {
	r := g.rng
	method := "GET"
	switch m := r.IntN(100); {
	case m < 70:
	case m < 88:
		method = "POST"
	case m < 94:
		method = "PUT"
	case m < 98:
		method = "DELETE"
	default:
		method = "PATCH"
	}
	status := 200
	switch s := r.IntN(1000); {
	case s < 905:
		switch method {
		case "POST":
			status = 201
		case "DELETE":
			status = 204
		}
	case s < 945:
		status = [...]int{301, 302, 304, 304}[r.IntN(4)]
	case s < 985:
		status = [...]int{400, 401, 403, 404, 404, 404, 422, 429}[r.IntN(8)]
	default:
		status = [...]int{500, 502, 503, 503}[r.IntN(4)]
	}
	// service time: log-normal, median about 27 ms, a long tail.
	service := clampInt(g.service.draw(r.Uint64()), 1, 29_999)
	var code, desc string
	if status == 503 {
		if r.IntN(2) == 0 {
			code, desc, service = "H12", "Request timeout", 30_000
		} else {
			code, desc = "H13", "Connection closed without response"
		}
	}

	if code != "" {
		dst = append(dst, "at=error code="...)
		dst = append(dst, code...)
		dst = append(dst, " desc=\""...)
		dst = append(dst, desc...)
		dst = append(dst, "\" method="...)
	} else {
		dst = append(dst, "at=info method="...)
	}
	dst = append(dst, method...)
	dst = append(dst, " path=\""...)
	rt := &routes[r.IntN(len(routes))]
	dst = append(dst, rt.prefix...)
	if rt.num > 0 {
		dst = strconv.AppendInt(dst, int64(1+r.IntN(rt.num)), 10)
	}
	dst = append(dst, rt.suffix...)
	dst = append(dst, "\" host="...)
	dst = append(dst, g.opts.Host...)
	dst = append(dst, " request_id="...)
	dst = g.appendUUID(dst)
	dst = append(dst, " fwd=\""...)
	dst = append(dst, fwdNets[r.IntN(len(fwdNets))]...)
	dst = strconv.AppendInt(dst, int64(1+r.IntN(254)), 10)
	dst = append(dst, "\" dyno="...)
	dst = append(dst, d.name...)
	dst = append(dst, " connect="...)
	dst = strconv.AppendInt(dst, clampInt(g.connect.draw(r.Uint64()), 0, 5000), 10)
	dst = append(dst, "ms service="...)
	dst = strconv.AppendInt(dst, service, 10)
	dst = append(dst, "ms status="...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, " bytes="...)
	size := clampInt(g.size.draw(r.Uint64()), 200, 20_000_000)
	if status == 204 || status == 304 {
		size = 150 + r.Int64N(100) // headers only
	}
	dst = strconv.AppendInt(dst, size, 10)
	if r.IntN(20) == 0 {
		return append(dst, " protocol=http"...)
	}
	return append(dst, " protocol=https"...)
}

// clampInt rounds v into [lo, hi].
func clampInt(v float64, lo, hi int64) int64 {
	switch {
	case !(v >= float64(lo)): // NaN too
		return lo
	case v >= float64(hi):
		return hi
	}
	return int64(v + 0.5)
}
