package parse

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func metrics(line string) (string, int) {
	var out []string
	bad := L2met([]byte(line), func(m Metric) bool {
		out = append(out, fmt.Sprintf("%s:%s=%g%s(%s)@%s", m.Kind, m.Name, m.Value, m.Unit, m.Raw, m.Source))
		return true
	})
	return strings.Join(out, " "), bad
}

func TestL2met(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		bad        int
	}{
		{"", "", 0},
		{"   ", "", 0},
		{"at=info msg=hello", "", 0},
		{"source=web.1 count#api.requests=1 measure#api.latency=12.5ms",
			"count:api.requests=1(1)@web.1 measure:api.latency=12.5ms(12.5ms)@web.1", 0},
		{"count#user.signup", "count:user.signup=1()@", 0},
		{"count#emails.sent=3 source=worker.2", "count:emails.sent=3(3)@worker.2", 0},
		{"source=a source=b count#x=2", "count:x=2(2)@b", 0},
		{"measure#db.query=0.75ms measure#db.query=1.2ms", "measure:db.query=0.75ms(0.75ms)@ measure:db.query=1.2ms(1.2ms)@", 0},
		{"sample#disk=73.5% sample#heap=1.5GB sample#q=42", "sample:disk=73.5%(73.5%)@ sample:heap=1.5GB(1.5GB)@ sample:q=42(42)@", 0},
		{`unique#user=alice unique#plan="pro plan" unique#n=7`, "unique:user=0(alice)@ unique:plan=0(pro plan)@ unique:n=7(7)@", 0},
		{"measure#t=-3.5 sample#r=1e-3 count#big=1e6", "measure:t=-3.5(-3.5)@ sample:r=0.001(1e-3)@ count:big=1e+06(1e6)@", 0},
		{"measure#x=abc sample#y= count#=1 measure#=2 unique#=u measure#ok=1", "measure:ok=1(1)@", 5},
		{"measure#huge=1e999 sample#long=" + strings.Repeat("9", 40), "", 2},
		{"measure#x=5 ms", "measure:x=5(5)@", 0}, // "ms" is a bare key
		{"measure#x=1.2.3", "", 1},
		{"gauge#x=1 count x#y=1 #=1", "", 0},
		{"count#ключ=1 measure#日本=2秒", "count:ключ=1(1)@ measure:日本=2秒(2秒)@", 0},
	} {
		got, bad := metrics(tc.line)
		if got != tc.want || bad != tc.bad {
			t.Errorf("L2met(%q)\n got %s (bad %d)\nwant %s (bad %d)", tc.line, got, bad, tc.want, tc.bad)
		}
	}
}

func TestL2metStop(t *testing.T) {
	n := 0
	L2met([]byte("count#a count#b count#c"), func(Metric) bool { n++; return false })
	if n != 1 {
		t.Fatalf("fn called %d times, want 1", n)
	}
}

func TestQuantity(t *testing.T) {
	for _, tc := range []struct {
		in    string
		value float64
		unit  string
		ok    bool
	}{
		{"37ms", 37, "ms", true},
		{"12.5", 12.5, "", true},
		{"21.33MB", 21.33, "MB", true},
		{"50%", 50, "%", true},
		{"-1.5e3s", -1500, "s", true},
		{"+2", 2, "", true},
		{".5s", 0.5, "s", true},
		{"5.", 5, "", true},
		{"5e", 5, "e", true},
		{"10µs", 10, "µs", true},
		{"3req/s", 3, "req/s", true},
		{"348836pages", 348836, "pages", true},
		{"", 0, "", false},
		{"ms", 0, "", false},
		{"-", 0, "", false},
		{".", 0, "", false},
		{"1.2.3", 0, "", false},
		{"5 ms", 0, "", false},
		{"0x10", 0, "", false},
		{"inf", 0, "", false},
		{"NaN", 0, "", false},
		{"1_000", 0, "", false},
		{"1e400", 0, "", false},
		{strings.Repeat("1", 33), 0, "", false},
		{"1e-400", 0, "", true}, // underflow is zero
	} {
		v, u, ok := Quantity([]byte(tc.in))
		if v != tc.value || string(u) != tc.unit || ok != tc.ok {
			t.Errorf("Quantity(%q) = %v, %q, %v; want %v, %q, %v", tc.in, v, u, ok, tc.value, tc.unit, tc.ok)
		}
	}
}

func TestSecondsBytesDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		sec  float64
		isT  bool
		byts float64
		isB  bool
	}{
		{"37ms", 0.037, true, 0, false},
		{"1.5s", 1.5, true, 0, false},
		{"250us", 250e-6, true, 0, false},
		{"250µs", 250e-6, true, 0, false},
		{"480000ns", 480e-6, true, 0, false},
		{"2min", 120, true, 0, false},
		{"1h", 3600, true, 0, false},
		{"12", 0, false, 0, false},
		{"1B", 0, false, 1, true},
		{"2KB", 0, false, 2048, true},
		{"21.5MB", 0, false, 21.5 * 1024 * 1024, true},
		{"1.5GB", 0, false, 1.5 * (1 << 30), true},
		{"1TiB", 0, false, 1 << 40, true},
		{"1mb", 0, false, 0, false},
	} {
		v, u, ok := Quantity([]byte(tc.in))
		if !ok {
			t.Fatalf("Quantity(%q) not ok", tc.in)
		}
		sec, isT := Seconds(v, u)
		byts, isB := Bytes(v, u)
		if math.Abs(sec-tc.sec) > 1e-12 || isT != tc.isT || byts != tc.byts || isB != tc.isB {
			t.Errorf("%q: Seconds %v %v, Bytes %v %v; want %v %v, %v %v", tc.in, sec, isT, byts, isB, tc.sec, tc.isT, tc.byts, tc.isB)
		}
	}
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"37ms", 37 * time.Millisecond, true},
		{"30000ms", 30 * time.Second, true},
		{"12.5ms", 12500 * time.Microsecond, true},
		{"0ms", 0, true},
		{"1ns", 1, true},
		{"250µs", 250 * time.Microsecond, true},
		{"37", 0, false},
		{"37MB", 0, false},
		{"", 0, false},
		{"1e12h", 0, false},
		{"-1e12h", 0, false},
	} {
		d, ok := Duration([]byte(tc.in))
		if d != tc.want || ok != tc.ok {
			t.Errorf("Duration(%q) = %v, %v; want %v, %v", tc.in, d, ok, tc.want, tc.ok)
		}
	}
}

// TestFastFloat checks the fast path against strconv on numbers around its
// limits.
func TestFastFloat(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "+0", "1", "37", "12.5", "0.1", "0.2", "0.3", "-0.75", "1.", ".5", "21.33", "123456789012345",
		"1234567890123456", "0.123456789012345", "999999999999999", "9007199254740993", "1.7976931348623157",
		"3.14159265358979", "0.000000000000001", "100000000000000.0", "5e3", "1e-3",
	} {
		want, err := strconv.ParseFloat(s, 64)
		got, ok := parseFloat([]byte(s))
		if err != nil || !ok || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("parseFloat(%q) = %v, %v; strconv %v, %v", s, got, ok, want, err)
		}
	}
}
