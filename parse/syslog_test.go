package parse

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const bom = "\xEF\xBB\xBF"

// show renders a Syslog's fields for comparison.
func show(m Syslog) string {
	ts := "-"
	if !m.Timestamp.IsZero() {
		ts = m.Timestamp.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("pri=%d fac=%d sev=%d v=%d ts=%s host=%q app=%q proc=%q msgid=%q sd=%q msg=%q",
		m.Priority, m.Facility, m.Severity, m.Version, ts, m.Hostname, m.AppName, m.ProcID, m.MsgID, m.StructuredData, m.Message)
}

func TestRFC5424(t *testing.T) {
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"rfc example 1",
			"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + bom + "'su root' failed for lonvick on /dev/pts/8",
			`pri=34 fac=4 sev=2 v=1 ts=2003-10-11T22:14:15.003Z host="mymachine.example.com" app="su" proc="-" msgid="ID47" sd="-" msg="'su root' failed for lonvick on /dev/pts/8"`},
		{"rfc example 2",
			"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
			`pri=165 fac=20 sev=5 v=1 ts=2003-08-24T12:14:15.000003Z host="192.0.2.1" app="myproc" proc="8710" msgid="-" sd="-" msg="%% It's time to make the do-nuts."`},
		{"rfc example 3",
			`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + bom + "An application event log entry...",
			`pri=165 fac=20 sev=5 v=1 ts=2003-10-11T22:14:15.003Z host="mymachine.example.com" app="evntslog" proc="-" msgid="ID47" sd="[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]" msg="An application event log entry..."`},
		{"rfc example 4, no MSG",
			`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
			`pri=165 fac=20 sev=5 v=1 ts=2003-10-11T22:14:15.003Z host="mymachine.example.com" app="evntslog" proc="-" msgid="ID47" sd="[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]" msg=""`},
		{"heroku, no SD",
			"<40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n",
			`pri=40 fac=5 sev=0 v=1 ts=2012-11-30T06:45:29Z host="host" app="app" proc="web.3" msgid="-" sd="" msg="State changed from starting to up"`},
		{"heroku router",
			`<158>1 2026-11-21T10:00:00.123456+00:00 host heroku router - at=info method=GET path="/"`,
			`pri=158 fac=19 sev=6 v=1 ts=2026-11-21T10:00:00.123456Z host="host" app="heroku" proc="router" msgid="-" sd="" msg="at=info method=GET path=\"/\""`},
		{"heroku, message like SD but not",
			"<190>1 2026-11-21T10:00:00Z host app web.1 - [2026-11-21 10:00:00] boot",
			`pri=190 fac=23 sev=6 v=1 ts=2026-11-21T10:00:00Z host="host" app="app" proc="web.1" msgid="-" sd="" msg="[2026-11-21 10:00:00] boot"`},
		{"heroku, message starting with SD-like bracket is SD",
			"<190>1 2026-11-21T10:00:00Z host app web.1 - [INFO] boot",
			`pri=190 fac=23 sev=6 v=1 ts=2026-11-21T10:00:00Z host="host" app="app" proc="web.1" msgid="-" sd="[INFO]" msg="boot"`},
		{"SD then no space",
			"<190>1 2026-11-21T10:00:00Z host app web.1 - [a]b",
			`pri=190 fac=23 sev=6 v=1 ts=2026-11-21T10:00:00Z host="host" app="app" proc="web.1" msgid="-" sd="" msg="[a]b"`},
		{"all nil",
			"<14>1 - - - - - -",
			`pri=14 fac=1 sev=6 v=1 ts=- host="-" app="-" proc="-" msgid="-" sd="-" msg=""`},
		{"SD NILVALUE then newline",
			"<14>1 - - - - - -\n",
			`pri=14 fac=1 sev=6 v=1 ts=- host="-" app="-" proc="-" msgid="-" sd="-" msg=""`},
		{"all nil, empty MSG",
			"<14>1 - - - - - - ",
			`pri=14 fac=1 sev=6 v=1 ts=- host="-" app="-" proc="-" msgid="-" sd="-" msg=""`},
		{"escapes in SD",
			`<13>1 2026-11-21T10:00:00Z h a p m [x@1 a="q\"uote" b="br\]acket" c="back\\slash"] msg`,
			`pri=13 fac=1 sev=5 v=1 ts=2026-11-21T10:00:00Z host="h" app="a" proc="p" msgid="m" sd="[x@1 a=\"q\\\"uote\" b=\"br\\]acket\" c=\"back\\\\slash\"]" msg="msg"`},
		{"version 2, PRI 0, 191",
			"<0>2 - h a p m - x",
			`pri=0 fac=0 sev=0 v=2 ts=- host="h" app="a" proc="p" msgid="m" sd="-" msg="x"`},
		{"unicode MSG, CRLF",
			"<191>999 2026-11-21T10:00:00+01:00 h a p m - café ✓\r\n",
			`pri=191 fac=23 sev=7 v=999 ts=2026-11-21T09:00:00Z host="h" app="a" proc="p" msgid="m" sd="-" msg="café ✓"`},
		{"long app name",
			"<13>1 - h " + strings.Repeat("a", 100) + " p m - x",
			`pri=13 fac=1 sev=5 v=1 ts=- host="h" app="` + strings.Repeat("a", 100) + `" proc="p" msgid="m" sd="-" msg="x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := exact(tc.msg)
			m, err := RFC5424(b)
			if err != nil {
				t.Fatalf("RFC5424(%q): %v", tc.msg, err)
			}
			if got := show(m); got != tc.want {
				t.Errorf("RFC5424(%q)\n got %s\nwant %s", tc.msg, got, tc.want)
			}
			checkAliases(t, b, m)
		})
	}
}

func checkAliases(t *testing.T, b []byte, m Syslog) {
	t.Helper()
	for _, f := range [][]byte{m.Hostname, m.AppName, m.ProcID, m.MsgID, m.StructuredData, m.Message} {
		if !within(b, f) {
			t.Fatalf("field %q does not alias the message", f)
		}
	}
}

func TestRFC5424Errors(t *testing.T) {
	for _, tc := range []struct {
		msg    string
		reason Reason
		offset int
	}{
		{"", ReasonEmpty, 0},
		{"   ", ReasonBadPriority, 0},
		{"<", ReasonTruncated, 1},
		{"<>1 - h a p m -", ReasonBadPriority, 1},
		{"<192>1 - h a p m -", ReasonBadPriority, 1},
		{"<1234>1 - h a p m -", ReasonBadPriority, 4},
		{"<99999999999999999999>1 - h a p m -", ReasonBadPriority, 4},
		{"<-1>1 - h a p m -", ReasonBadPriority, 1},
		{"<13>", ReasonBadVersion, 4},
		{"<13>0 - h a p m -", ReasonBadVersion, 4},
		{"<13>01 - h a p m -", ReasonBadVersion, 4},
		{"<13>1000 - h a p m -", ReasonBadVersion, 4},
		{"<13>1", ReasonTruncated, 5},
		{"<13>1- h a p m -", ReasonBadVersion, 5},
		{"<13>1 2026-11-21 10:00:00Z h a p m -", ReasonBadTimestamp, 6},
		{"<13>1 2026-02-30T10:00:00Z h a p m -", ReasonBadTimestamp, 6},
		{"<13>1 2026-11-21T10:00", ReasonTruncated, 6},
		{"<13>1 2026-11-21T10:00:00Zh a p m -", ReasonBadTimestamp, 26},
		{"<13>1 -", ReasonTruncated, 7},
		{"<13>1 - h", ReasonTruncated, 9},
		{"<13>1 - h a p m", ReasonTruncated, 15},
		{"<13>1 - h a p m ", ReasonTruncated, 16},
		{"<13>1 -  a p m -", ReasonBadHeader, 8},
		{"<13>1 - h\x80st a p m -", ReasonBadHeader, 9},
		{"<13>1 - h a\tb p m -", ReasonBadHeader, 11},
	} {
		_, err := RFC5424(exact(tc.msg))
		var pe *Error
		if !errors.As(err, &pe) || pe.Reason != tc.reason || pe.Offset != tc.offset {
			t.Errorf("RFC5424(%q) = %v; want %s at %d", tc.msg, err, tc.reason, tc.offset)
		}
	}
}

func TestRFC3164(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, msg string
		now       time.Time
		want      string
	}{
		{"rfc example 1", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", now,
			`pri=34 fac=4 sev=2 v=0 ts=2026-10-11T22:14:15Z host="mymachine" app="su" proc="" msgid="" sd="" msg="'su root' failed for lonvick on /dev/pts/8"`},
		{"rfc example 2, relayed", "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", now,
			`pri=13 fac=1 sev=5 v=0 ts=2027-02-05T17:32:18Z host="10.0.0.99" app="Use" proc="" msgid="" sd="" msg="the BFG!"`},
		{"rfc example 3", "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time", now,
			`pri=165 fac=20 sev=5 v=0 ts=2026-08-24T05:34:00Z host="CST" app="1987" proc="" msgid="" sd="" msg="mymachine myproc[10]: %% It's time"`},
		{"pid", "<86>Nov 21 10:00:00 web-1 sshd[1234]: Accepted publickey", now,
			`pri=86 fac=10 sev=6 v=0 ts=2026-11-21T10:00:00Z host="web-1" app="sshd" proc="1234" msgid="" sd="" msg="Accepted publickey"`},
		{"space-padded day", "<30>Nov  1 09:05:02 web-1 systemd[1]: Started", now,
			`pri=30 fac=3 sev=6 v=0 ts=2026-11-01T09:05:02Z host="web-1" app="systemd" proc="1" msgid="" sd="" msg="Started"`},
		{"unpadded day", "<30>Nov 1 09:05:02 web-1 systemd[1]: Started", now,
			`pri=30 fac=3 sev=6 v=0 ts=2026-11-01T09:05:02Z host="web-1" app="systemd" proc="1" msgid="" sd="" msg="Started"`},
		{"zero-padded day", "<30>Nov 01 09:05:02 web-1 systemd[1]: Started", now,
			`pri=30 fac=3 sev=6 v=0 ts=2026-11-01T09:05:02Z host="web-1" app="systemd" proc="1" msgid="" sd="" msg="Started"`},
		{"no host", "<13>Nov 21 10:00:00 su[42]: session opened", now,
			`pri=13 fac=1 sev=5 v=0 ts=2026-11-21T10:00:00Z host="" app="su" proc="42" msgid="" sd="" msg="session opened"`},
		{"no host, colon tag", "<13>Nov 21 10:00:00 kernel: oops", now,
			`pri=13 fac=1 sev=5 v=0 ts=2026-11-21T10:00:00Z host="" app="kernel" proc="" msgid="" sd="" msg="oops"`},
		{"december seen in january", "<13>Dec 31 23:59:59 gw kernel: x", time.Date(2027, 1, 1, 0, 0, 5, 0, time.UTC),
			`pri=13 fac=1 sev=5 v=0 ts=2026-12-31T23:59:59Z host="gw" app="kernel" proc="" msgid="" sd="" msg="x"`},
		{"january seen in december", "<13>Jan  1 00:00:01 gw kernel: x", time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC),
			`pri=13 fac=1 sev=5 v=0 ts=2027-01-01T00:00:01Z host="gw" app="kernel" proc="" msgid="" sd="" msg="x"`},
		{"feb 29 picks a leap year", "<13>Feb 29 12:00:00 h t: x", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			`pri=13 fac=1 sev=5 v=0 ts=2024-02-29T12:00:00Z host="h" app="t" proc="" msgid="" sd="" msg="x"`},
		{"rfc3339 timestamp", "<13>2026-11-21T10:00:00.123+01:00 web-1 app[7]: x", now,
			`pri=13 fac=1 sev=5 v=0 ts=2026-11-21T09:00:00.123Z host="web-1" app="app" proc="7" msgid="" sd="" msg="x"`},
		{"timestamp only", "<13>Nov 21 10:00:00", now,
			`pri=13 fac=1 sev=5 v=0 ts=2026-11-21T10:00:00Z host="" app="" proc="" msgid="" sd="" msg=""`},
		{"host only", "<13>Nov 21 10:00:00 web-1", now,
			`pri=13 fac=1 sev=5 v=0 ts=2026-11-21T10:00:00Z host="web-1" app="" proc="" msgid="" sd="" msg=""`},
		{"unclosed pid", "<13>Nov 21 10:00:00 h app[12 x", now,
			`pri=13 fac=1 sev=5 v=0 ts=2026-11-21T10:00:00Z host="h" app="app" proc="" msgid="" sd="" msg="[12 x"`},
		{"unicode, newline", "<13>Nov 21 10:00:00 h app: café ✓\n", now,
			`pri=13 fac=1 sev=5 v=0 ts=2026-11-21T10:00:00Z host="h" app="app" proc="" msgid="" sd="" msg="café ✓"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := exact(tc.msg)
			m, err := RFC3164(b, tc.now)
			if err != nil {
				t.Fatalf("RFC3164(%q): %v", tc.msg, err)
			}
			if got := show(m); got != tc.want {
				t.Errorf("RFC3164(%q)\n got %s\nwant %s", tc.msg, got, tc.want)
			}
			checkAliases(t, b, m)
		})
	}
}

func TestRFC3164Location(t *testing.T) {
	loc := time.FixedZone("X", -5*3600)
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, loc)
	m, err := RFC3164([]byte("<13>Nov 21 09:00:00 h t: x"), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC); !m.Timestamp.Equal(want) || m.Timestamp.Location() != loc {
		t.Fatalf("timestamp %v, want %v in now's location", m.Timestamp, want)
	}
}

func TestRFC3164Errors(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		msg    string
		reason Reason
	}{
		{"", ReasonEmpty},
		{"Use the BFG!", ReasonBadPriority},
		{"<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!", ReasonBadTimestamp},
		{"<13>", ReasonTruncated},
		{"<13>Nov 21 10:00", ReasonTruncated},
		{"<13>Noo 21 10:00:00 h t: x", ReasonBadTimestamp},
		{"<13>nov 21 10:00:00 h t: x", ReasonBadTimestamp},
		{"<13>Nov 32 10:00:00 h t: x", ReasonBadTimestamp},
		{"<13>Nov 31 10:00:00 h t: x", ReasonBadTimestamp},
		{"<13>Nov  0 10:00:00 h t: x", ReasonBadTimestamp},
		{"<13>Nov 21 25:00:00 h t: x", ReasonBadTimestamp},
		{"<13>Nov 21 10-00-00 h t: x", ReasonBadTimestamp},
		{"<13>Nov 21 10:00:00.123 h t: x", ReasonBadTimestamp},
	} {
		_, err := RFC3164(exact(tc.msg), now)
		if ReasonOf(err) != tc.reason {
			t.Errorf("RFC3164(%q) = %v; want reason %s", tc.msg, err, tc.reason)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Format
	}{
		{"<34>1 2003-10-11T22:14:15.003Z h a p m - x", FormatRFC5424},
		{"<34>12 - h a p m - x", FormatRFC5424},
		{"<34>Oct 11 22:14:15 h su: x", FormatRFC3164},
		{"<34>2026-11-21T10:00:00Z h a: x", FormatRFC3164},
		{"<34>0 x", FormatRFC3164},
		{"<34>1", FormatRFC3164},
		{"<34>", FormatRFC3164},
		{"34>1 x", FormatUnknown},
		{"<300>1 x", FormatUnknown},
		{"", FormatUnknown},
	} {
		if got := Detect([]byte(tc.msg)); got != tc.want {
			t.Errorf("Detect(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

func TestSDParams(t *testing.T) {
	for _, tc := range []struct {
		sd, want string
		reason   Reason
	}{
		{"", "", ""},
		{"-", "", ""},
		{`[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
			`exampleSDID@32473.iut=3 exampleSDID@32473.eventSource=Application exampleSDID@32473.eventID=1011 examplePriority@32473.class=high`, ""},
		{`[origin][meta sequenceId="1"]`, `origin. meta.sequenceId=1`, ""},
		{`[x a="q\"uote" b="br\]acket" c="back\\slash" d="keep\n"]`, `x.a=q"uote x.b=br]acket x.c=back\slash x.d=keep\n`, ""},
		{`[x a=""]`, `x.a=`, ""},
		{`[x a="é ✓"]`, `x.a=é ✓`, ""},
		{`[x a="1"] [y]`, `x.a=1`, ReasonBadSD},
		{`[x a=1]`, ``, ReasonBadSD},
		{`[x a="1"`, `x.a=1`, ReasonTruncated},
		{`[x a="1`, ``, ReasonTruncated},
		{`[x a="1\"]`, ``, ReasonTruncated},
		{`[]`, ``, ReasonBadSD},
		{`[x  a="1"]`, ``, ReasonBadSD},
		{`x`, ``, ReasonBadSD},
	} {
		var got []string
		var buf []byte
		err := SDParams(exact(tc.sd), func(id, name, value []byte) bool {
			buf = SDUnescape(buf[:0], value)
			got = append(got, string(id)+"."+string(name)+map[bool]string{true: "=", false: ""}[name != nil]+string(buf))
			return true
		})
		if strings.Join(got, " ") != tc.want || (tc.reason == "") != (err == nil) || (err != nil && ReasonOf(err) != tc.reason) {
			t.Errorf("SDParams(%q) = %q, %v; want %q, %q", tc.sd, strings.Join(got, " "), err, tc.want, tc.reason)
		}
	}
}

// TestSyslogTruncated parses every prefix of a few messages: no panic,
// fields within the input, and a prefix that cuts into the header fails
// with a reason.
func TestSyslogTruncated(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		msg   string
		msgID string // the header ends after it, its SP and one more byte
	}{
		{`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\"lication"][p@1 class="high"] ` + bom + "An entry", " ID47 "},
		{`<158>1 2026-11-21T10:00:00.123456+00:00 host heroku router - at=info method=GET path="/"`, " - "},
	} {
		msg := tc.msg
		hdr := strings.Index(msg, tc.msgID) + len(tc.msgID) + 1
		for i := 0; i <= len(msg); i++ {
			b := exact(msg[:i])
			m, err := RFC5424(b)
			if err == nil {
				checkAliases(t, b, m)
			}
			if (err == nil) != (i >= hdr) {
				t.Errorf("RFC5424(%q) err = %v", b, err)
			}
		}
	}
	msg := "<86>Nov 21 10:00:00 web-1 sshd[1234]: Accepted publickey"
	for i := 0; i <= len(msg); i++ {
		b := exact(msg[:i])
		m, err := RFC3164(b, now)
		if err == nil {
			checkAliases(t, b, m)
		}
		if (err == nil) != (i >= len("<86>Nov 21 10:00:00")) {
			t.Errorf("RFC3164(%q) err = %v", b, err)
		}
	}
}
