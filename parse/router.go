package parse

import "time"

// RouterLine is a Heroku router log line:
//
//	at=info method=GET path="/" host=myapp.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="204.204.204.204" dyno=web.1 connect=1ms service=37ms status=200 bytes=1234 protocol=https
//	at=error code=H12 desc="Request timeout" method=GET path="/" ... service=30000ms status=503 bytes=0 protocol=https
//
// Byte fields alias the line; quoted values come without their quotes and
// with escapes as they are (router values are URL-encoded or plain, so
// there are none in practice; Unquote resolves them). Absent fields are
// empty or zero.
type RouterLine struct {
	At        []byte // info, warning, error
	Code      []byte // the error code with at=error: H12, H13, ...
	Desc      []byte
	Method    []byte
	Path      []byte
	Host      []byte
	RequestID []byte
	Fwd       []byte
	Dyno      []byte
	Connect   time.Duration
	Service   time.Duration
	Status    int
	Bytes     int64
	Protocol  []byte
}

// Router reads a Heroku router line. A prefix before the logfmt pairs
// ("2026-11-21T10:00:00+00:00 heroku[router]: ") is passed over. ok is
// false unless the line has at=, method= and path= and its connect,
// service, status and bytes, where not empty, are well-formed: a line that
// merely looks like one does not yield made-up zeros.
func Router(line []byte) (r RouterLine, ok bool) {
	var s LogfmtScanner
	s.Reset(line)
	for s.Next() {
		v := s.Value()
		if len(v) == 0 {
			// Heroku writes "dyno= connect= service= status=503 bytes="
			// when no dyno answered (H10 and friends): absent.
			continue
		}
		switch string(s.Key()) {
		case "at":
			r.At = v
		case "code":
			r.Code = v
		case "desc":
			r.Desc = v
		case "method":
			r.Method = v
		case "path":
			r.Path = v
		case "host":
			r.Host = v
		case "request_id":
			r.RequestID = v
		case "fwd":
			r.Fwd = v
		case "dyno":
			r.Dyno = v
		case "protocol":
			r.Protocol = v
		case "connect":
			if r.Connect, ok = Duration(v); !ok {
				return RouterLine{}, false
			}
		case "service":
			if r.Service, ok = Duration(v); !ok {
				return RouterLine{}, false
			}
		case "status":
			n, ok := atoi(v, 999)
			if !ok {
				return RouterLine{}, false
			}
			r.Status = int(n)
		case "bytes":
			if r.Bytes, ok = atoi(v, 1<<62); !ok {
				return RouterLine{}, false
			}
		}
	}
	if len(r.At) == 0 || len(r.Method) == 0 || len(r.Path) == 0 {
		return RouterLine{}, false
	}
	return r, true
}
