package parse_test

import (
	"fmt"

	"pulse/parse"
)

func ExampleLogfmtScanner() {
	var s parse.LogfmtScanner
	var buf []byte
	s.Reset([]byte(`at=info msg="say \"hi\"" flag`))
	for s.Next() {
		v := s.Value()
		if s.Quoted() {
			buf = parse.Unquote(buf[:0], v)
			v = buf
		}
		fmt.Printf("%s=%s\n", s.Key(), v)
	}
	// Output:
	// at=info
	// msg=say "hi"
	// flag=
}

func ExampleJSONField() {
	doc := []byte(`{"level":"info","job":{"id":42,"name":"caf\u00e9"}}`)
	id, kind, _ := parse.JSONField(doc, "job.id")
	fmt.Println(string(id), kind)
	raw, _, _ := parse.JSONField(doc, "job.name")
	name, _ := parse.JSONUnquote(nil, raw)
	fmt.Println(string(raw), string(name))
	// Output:
	// 42 number
	// "caf\u00e9" café
}

func ExampleLogplexFrames() {
	body := []byte("83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n" +
		"500 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - cut short\n")
	n, err := parse.LogplexFrames(body, func(frame []byte) error {
		m, err := parse.RFC5424(frame)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s: %s\n", m.AppName, m.ProcID, m.Message)
		return nil
	})
	fmt.Println(n, err, parse.ReasonOf(err))
	// Output:
	// app web.3: State changed from starting to up
	// 1 frame 2 at byte 86: length 500 exceeds the 59 bytes left (truncated) truncated
}

func ExampleRouter() {
	line := []byte(`2026-11-21T10:00:31.000000+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET path="/" host=myapp.herokuapp.com request_id=8601b555 fwd="204.204.204.204" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https`)
	ts, rest, _ := parse.LeadingTime(line)
	r, ok := parse.Router(rest)
	fmt.Println(ts, ok, string(r.Code), r.Status, r.Service, string(r.Dyno))
	// Output:
	// 2026-11-21 10:00:31 +0000 UTC true H12 503 30s web.1
}

func ExampleL2met() {
	line := []byte("source=web.1 count#api.requests=1 measure#api.latency=12.5ms sample#heap=1.5GB")
	parse.L2met(line, func(m parse.Metric) bool {
		fmt.Printf("%s %s %g %q source=%s", m.Kind, m.Name, m.Value, m.Unit, m.Source)
		if s, ok := parse.Seconds(m.Value, m.Unit); ok {
			fmt.Printf(" = %gs", s)
		}
		if b, ok := parse.Bytes(m.Value, m.Unit); ok {
			fmt.Printf(" = %gB", b)
		}
		fmt.Println()
		return true
	})
	// Output:
	// count api.requests 1 "" source=web.1
	// measure api.latency 12.5 "ms" source=web.1 = 0.0125s
	// sample heap 1.5 "GB" source=web.1 = 1.610612736e+09B
}
