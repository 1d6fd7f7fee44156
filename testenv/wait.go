package testenv

import (
	"net"
	"testing"
	"time"
)

// pollEvery is how often WaitFor and Eventually ask.
const pollEvery = 5 * time.Millisecond

// WaitFor polls cond every few milliseconds until it holds, failing the test
// with msg after timeout.
func WaitFor(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	WaitEvery(t, timeout, pollEvery, msg, cond)
}

// WaitEvery is WaitFor asking only every interval: for a cond that is
// costly to ask (a scan of every id in a topic or a directory).
func WaitEvery(t testing.TB, timeout, every time.Duration, msg string, cond func() bool) {
	t.Helper()
	if !EventuallyEvery(timeout, every, cond) {
		t.Fatalf("timed out after %v: %s", timeout, msg)
	}
}

// Eventually polls cond until it holds or timeout passes, and reports
// whether it held.
func Eventually(timeout time.Duration, cond func() bool) bool {
	return EventuallyEvery(timeout, pollEvery, cond)
}

// EventuallyEvery is Eventually asking only every interval.
func EventuallyEvery(timeout, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
}

// FreeAddr returns a 127.0.0.1 address with a port free at the time of the
// call.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return FreeAddrOn(t, "127.0.0.1")
}

// FreeAddrOn returns host:port with a port free on host (an address of this
// network namespace) at the time of the call.
func FreeAddrOn(t testing.TB, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Dial reports whether addr accepts a TCP connection.
func Dial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
