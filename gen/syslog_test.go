package gen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"pulse/testenv"
)

func TestSyslogTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		msgs [][]byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() { done <- res }()
		conn, err := ln.Accept()
		if err != nil {
			res.err = err
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			// RFC 6587 octet counting: LEN SP MSG.
			n, err := r.ReadString(' ')
			if errors.Is(err, io.EOF) && n == "" {
				return
			}
			size, cerr := strconv.Atoi(n[:max(len(n)-1, 0)])
			if err != nil || cerr != nil {
				res.err = errors.Join(err, cerr)
				return
			}
			msg := make([]byte, size)
			if _, err := io.ReadFull(r, msg); err != nil {
				res.err = err
				return
			}
			res.msgs = append(res.msgs, msg)
		}
	}()
	st, _ := run(t, context.Background(), Options{Count: 3000, Out: "syslog+tcp://" + ln.Addr().String()})
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("receiver did not see the end of the stream")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	ids := newIDSet()
	syslogIDs(t, res.msgs, ids)
	ids.check(t, 3000)
	if st.Events != 3000 {
		t.Fatalf("%d events", st.Events)
	}
}

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		msgs [][]byte
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			mu.Lock()
			msgs = append(msgs, append([]byte(nil), buf[:n]...)) // one message per datagram
			mu.Unlock()
		}
	}()
	defer func() { pc.Close(); <-done }()
	// Paced, so that the socket buffer never overflows on loopback.
	const n = 400
	run(t, context.Background(), Options{Count: n, Rate: 4000, Out: "syslog+udp://" + pc.LocalAddr().String()})
	testenv.WaitFor(t, 10*time.Second, "every datagram", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(msgs) >= n
	})
	mu.Lock()
	defer mu.Unlock()
	ids := newIDSet()
	syslogIDs(t, msgs, ids)
	ids.check(t, n)
}
