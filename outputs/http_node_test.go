package outputs

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999999999", maxRetryAfter},
		{"86400", maxRetryAfter},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter([]byte(tc.in), now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, path   string
		useTLS     bool
		uri, addr  string
		isTLS, bad bool
	}{
		{in: "127.0.0.1:8080", uri: "http://127.0.0.1:8080/", addr: "127.0.0.1:8080"},
		{in: "127.0.0.1:8080", path: "/v1/batch", uri: "http://127.0.0.1:8080/v1/batch", addr: "127.0.0.1:8080"},
		{in: "127.0.0.1:8443", path: "/v1/batch", useTLS: true, uri: "https://127.0.0.1:8443/v1/batch", addr: "127.0.0.1:8443", isTLS: true},
		{in: "http://example.com/v1/batch", uri: "http://example.com/v1/batch", addr: "example.com:80"},
		// A URL keeps its own path and scheme.
		{in: "http://example.com/in", path: "/v1/batch", useTLS: true, uri: "http://example.com/in", addr: "example.com:80"},
		{in: "https://example.com:8443", uri: "https://example.com:8443/", addr: "example.com:8443", isTLS: true},
		{in: "https://example.com/x?k=v", uri: "https://example.com/x?k=v", addr: "example.com:443", isTLS: true},
		{in: "[::1]:9000", uri: "http://[::1]:9000/", addr: "[::1]:9000"},
		{in: "example.com", bad: true},
		{in: "ftp://example.com/", bad: true},
		{in: "http:///path", bad: true},
	} {
		path := tc.path
		if path == "" {
			path = "/"
		}
		uri, addr, isTLS, err := parseEndpoint(tc.in, path, tc.useTLS)
		if tc.bad {
			if err == nil {
				t.Errorf("parseEndpoint(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil || uri != tc.uri || addr != tc.addr || isTLS != tc.isTLS {
			t.Errorf("parseEndpoint(%q, %q, %v) = %q, %q, %v, %v; want %q, %q, %v",
				tc.in, path, tc.useTLS, uri, addr, isTLS, err, tc.uri, tc.addr, tc.isTLS)
		}
	}
}
