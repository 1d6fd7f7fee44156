package parse

import (
	"testing"
	"time"
)

func TestRFC3339(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-11-21T10:00:00Z", true},
		{"2026-11-21T10:00:00.123456+00:00", true},
		{"2026-11-21t10:00:00z", true},
		{"2026-11-21T10:00:00.1-05:30", true},
		{"2026-11-21T10:00:00.123456789+14:00", true},
		{"2026-11-21T10:00:00.1234567891234-07:00", true}, // extra digits dropped
		{"2024-02-29T00:00:00Z", true},
		{"2026-12-31T23:59:60Z", true}, // leap second
		{"0000-01-01T00:00:00Z", true},
		{"9999-12-31T23:59:59Z", true},
		{"2026-02-29T00:00:00Z", false},
		{"2026-04-31T00:00:00Z", false},
		{"2026-13-01T00:00:00Z", false},
		{"2026-00-01T00:00:00Z", false},
		{"2026-11-00T00:00:00Z", false},
		{"2026-11-21T24:00:00Z", false},
		{"2026-11-21T10:60:00Z", false},
		{"2026-11-21T10:00:61Z", false},
		{"2026-11-21T10:00:00", false},
		{"2026-11-21T10:00:00.Z", false},
		{"2026-11-21T10:00:00+0000", false},
		{"2026-11-21T10:00:00+24:00", false},
		{"2026-11-21T10:00:00+00:60", false},
		{"2026-11-21 10:00:00Z", false},
		{"2026-11-21T10:00:00ZZ", false},
		{"26-11-21T10:00:00Z", false},
		{"2026-1a-21T10:00:00Z", false},
		{"", false},
		{"2026-11-21T10:00:00+", false},
		{"2026-11-21T10:00:00+01", false},
		{"２０２６-11-21T10:00:00Z", false},
	} {
		got, ok := RFC3339([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("RFC3339(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, tc.in)
		if err != nil {
			continue // time.Parse is stricter (leap seconds, lower case, >9 digits)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("RFC3339(%q) = %v, want %v in UTC", tc.in, got, want)
		}
	}
}

func TestRFC3339Leap(t *testing.T) {
	got, _ := RFC3339([]byte("2026-12-31T23:59:60Z"))
	if want := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("leap second = %v, want %v", got, want)
	}
	got, _ = RFC3339([]byte("2026-11-21T10:00:00.1234567891-07:00"))
	if want := time.Date(2026, 11, 21, 17, 0, 0, 123456789, time.UTC); !got.Equal(want) {
		t.Fatalf("10 fraction digits = %v, want %v", got, want)
	}
}

func TestLeadingTime(t *testing.T) {
	ts := time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)
	for _, tc := range []struct {
		line string
		t    time.Time
		rest string
		ok   bool
	}{
		{"2026-11-21T10:00:00.123456+00:00 heroku[router]: at=info method=GET", ts, "heroku[router]: at=info method=GET", true},
		{"2026-11-21T10:00:00.123456+00:00 host heroku router - at=info method=GET", ts, "at=info method=GET", true},
		{"2026-11-21T10:00:00.123456+00:00 d.73ea7440-270a-435a-a0ea-adf50b4e5f5a app web.3 - State changed", ts, "State changed", true},
		{"2026-11-21T10:00:00.123456+00:00 host app web.3 -", ts, "", true},
		{"2026-11-21T10:00:00.123456+00:00 host app web.3 x not a header", ts, "host app web.3 x not a header", true},
		{"2026-11-21T10:00:00.123456+00:00 host app", ts, "host app", true},
		{"2026-11-21T10:00:00.123456+00:00 host app - msg", ts, "msg", true},
		{"2026-11-21T10:00:00.123456+00:00 host - msg", ts, "host - msg", true},
		{"2026-11-21T10:00:00.123456+00:00 host a b c - msg", ts, "host a b c - msg", true},
		{"2026-11-21T10:00:00.123456+00:00 hostname app web.3 - x", ts, "hostname app web.3 - x", true},
		{"2026-11-21T10:00:00.123456+00:00", ts, "", true},
		{"2026-11-21T10:00:00.123456+00:00 ", ts, "", true},
		{"2026-11-21T10:00:00.123456+00:00x", time.Time{}, "2026-11-21T10:00:00.123456+00:00x", false},
		{"at=info 2026-11-21T10:00:00Z", time.Time{}, "at=info 2026-11-21T10:00:00Z", false},
		{"", time.Time{}, "", false},
	} {
		got, rest, ok := LeadingTime([]byte(tc.line))
		if ok != tc.ok || !got.Equal(tc.t) || string(rest) != tc.rest {
			t.Errorf("LeadingTime(%q) = %v, %q, %v; want %v, %q, %v", tc.line, got, rest, ok, tc.t, tc.rest, tc.ok)
		}
	}
}

func TestClampTime(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t       time.Time
		want    time.Time
		clamped bool
	}{
		{now.Add(-time.Hour), now.Add(-time.Hour), false},
		{now.Add(time.Minute), now.Add(time.Minute), false},
		{now.Add(5 * time.Minute), now.Add(5 * time.Minute), false},
		{now.Add(5*time.Minute + 1), now, true},
		{now.AddDate(1, 0, 0), now, true},
		{time.Time{}, now, true},
	} {
		got, clamped := ClampTime(tc.t, now, 5*time.Minute)
		if !got.Equal(tc.want) || clamped != tc.clamped {
			t.Errorf("ClampTime(%v) = %v, %v; want %v, %v", tc.t, got, clamped, tc.want, tc.clamped)
		}
	}
}

// TestDaysSinceEpoch checks the calendar arithmetic against time.Date over
// every day of four centuries and the edges of the four-digit years.
func TestDaysSinceEpoch(t *testing.T) {
	check := func(day time.Time) {
		want := day.Unix() / 86400
		if day.Unix() < 0 && day.Unix()%86400 != 0 {
			want--
		}
		if got := daysSinceEpoch(day.Year(), int(day.Month()), day.Day()); got != want {
			t.Fatalf("%v: %d days, want %d", day, got, want)
		}
	}
	for day := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 2300; day = day.AddDate(0, 0, 1) {
		check(day)
	}
	for _, y := range []int{0, 1, 4, 100, 400, 9999} {
		for _, m := range []time.Month{1, 2, 3, 12} {
			check(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
			check(time.Date(y, m, daysIn(m, y), 0, 0, 0, 0, time.UTC))
		}
	}
}
