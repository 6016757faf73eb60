package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

const testRTT = 100 * time.Millisecond

// slack absorbs scheduling on a loaded 2-core machine; every bound below is far from what a
// proxy that sleeps per chunk or serializes connections would take.
const slack = 80 * time.Millisecond

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// startServer serves connections with `serve` and returns the address.
func startServer(t *testing.T, serve func(net.Conn)) string {
	ln := listenLocal(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func echo(c net.Conn) {
	_, _ = io.Copy(c, c)
	_ = c.(*net.TCPConn).CloseWrite()
}

func startProxy(t *testing.T, target string, rtt time.Duration) string {
	ln := listenLocal(t)
	p := &proxy{target: target, rtt: rtt}
	go func() { _ = p.serve(ln) }()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes msg and reads the echo back.
func roundTrip(t *testing.T, c net.Conn, msg []byte) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo returned %q, sent %q", got, msg)
	}
	return time.Since(start)
}

func within(t *testing.T, what string, got, low, high time.Duration) {
	t.Helper()
	if got < low || got > high {
		t.Errorf("%s took %v, want between %v and %v", what, got, low, high)
	} else {
		t.Logf("%s took %v (want %v..%v)", what, got, low, high)
	}
}

func TestEachRequestTakesOneRoundTripAndTheFirstPaysTheHandshake(t *testing.T) {
	addr := startProxy(t, startServer(t, echo), testRTT)
	start := time.Now()
	c := dial(t, addr)
	roundTrip(t, c, []byte("hello"))
	within(t, "connect + first round trip", time.Since(start), 2*testRTT, 2*testRTT+slack)
	for i := range 3 {
		within(t, fmt.Sprintf("round trip %d", i+2), roundTrip(t, c, []byte("again")), testRTT, testRTT+slack)
	}
}

func TestParallelConnectionsAreNotSerialized(t *testing.T) {
	addr := startProxy(t, startServer(t, echo), testRTT)
	const n = 50
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer func() { _ = c.Close() }()
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Error(err)
				return
			}
			got := make([]byte, 4)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
				t.Errorf("echo: %q, %v", got, err)
			}
		})
	}
	wg.Wait()
	// Each connection: handshake + one round trip. Serialized, it would be n times that.
	within(t, "50 parallel connections", time.Since(start), 2*testRTT, 2*testRTT+2*slack)
}

func TestBulkDataArrivesIntactAndInOrderWithoutThrottling(t *testing.T) {
	addr := startProxy(t, startServer(t, echo), testRTT)
	sent := make([]byte, 16<<20)
	_, _ = rand.Read(sent)
	start := time.Now()
	c := dial(t, addr)
	go func() {
		_, _ = c.Write(sent)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent) {
		t.Fatalf("16 MiB echoed through the proxy came back different (%d bytes back)", len(got))
	}
	// 512 chunks of 32 KiB: a sleep per chunk would take 512 × 100 ms.
	within(t, "16 MiB there and back", time.Since(start), 2*testRTT, 2*time.Second)
}

func TestHalfCloseTravelsAfterTheData(t *testing.T) {
	// The server answers once the client has finished sending, as a request body's end does.
	addr := startProxy(t, startServer(t, func(c net.Conn) {
		body, _ := io.ReadAll(c)
		_, _ = c.Write(append([]byte("got "), body...))
	}), testRTT)
	start := time.Now() // the handshake's round trip counts from the connect
	c := dial(t, addr)
	_, _ = c.Write([]byte("request"))
	_ = c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "got request" {
		t.Fatalf("reply %q, want %q", got, "got request")
	}
	within(t, "request, half-close, reply", time.Since(start), 2*testRTT, 2*testRTT+slack)
}

func TestAnUnreachableTargetClosesTheClientConnection(t *testing.T) {
	ln := listenLocal(t)
	target := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	c := dial(t, startProxy(t, target, testRTT))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil {
		t.Fatalf("read %d bytes, err %v; want the connection closed", n, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the connection stayed open although the target is unreachable")
	}
}
