// latencyproxy makes a local API server behave like a remote one: it accepts TCP connections on
// a local address and forwards each to a target, delaying the bytes of each direction by half
// the configured round-trip time.
//
// Each direction is a delay line, as a long link is: a reader takes bytes as soon as they
// arrive and stamps them with the time they may leave; a writer sends them at that time, in
// order. Reading never waits for the delay, so throughput is not limited by it (only by a
// bounded amount of data in flight, like a TCP window), and connections are independent, so N
// parallel requests take about one round trip, not N. A half-close (FIN) travels the same line,
// after the data before it. A new connection also waits one round trip before the client's
// first byte leaves, because a real TCP handshake costs one. TLS passes through untouched.
//
//	latencyproxy --target 127.0.0.1:6443 --rtt 50ms [--listen 127.0.0.1:0] [--port-file FILE]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Bytes in flight per direction are at most inFlightChunks × chunkSize (8 MiB): enough for
// ~300 MB/s at 50 ms, and a bound on memory when the receiver stops reading.
const (
	chunkSize      = 32 << 10
	inFlightChunks = 256
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port, see --port-file)")
	target := flag.String("target", "", "host:port to forward every connection to (required)")
	rtt := flag.Duration("rtt", 50*time.Millisecond, "round-trip time to add; each direction is delayed by half")
	portFile := flag.String("port-file", "", "once listening, write the port to this file (written whole, by rename)")
	flag.Parse()
	log.SetPrefix("latencyproxy: ")
	if *target == "" || flag.NArg() != 0 || *rtt < 0 {
		fmt.Fprintln(os.Stderr, "usage: latencyproxy --target HOST:PORT [--rtt 50ms] [--listen ADDR] [--port-file FILE]")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		if err := writeFileAtomic(*portFile, strconv.Itoa(port)+"\n"); err != nil {
			log.Fatalf("writing --port-file: %v", err)
		}
	}
	log.Printf("listening on %s, forwarding to %s with %s round trip", ln.Addr(), *target, *rtt)
	p := &proxy{target: *target, rtt: *rtt}
	if err := p.serve(ln); err != nil {
		log.Fatal(err)
	}
}

// writeFileAtomic writes via a temporary file and rename, so a reader polling for the file never
// sees it half written.
func writeFileAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".port-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type proxy struct {
	target string
	rtt    time.Duration
}

// serve accepts connections until the listener is closed.
func (p *proxy) serve(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: the next Accept may succeed.
			log.Printf("accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go p.handle(conn)
	}
}

func (p *proxy) handle(client net.Conn) {
	accepted := time.Now()
	defer func() { _ = client.Close() }()
	server, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		// The client sees its connection closed, as when a remote server is unreachable.
		log.Printf("dial %s: %v", p.target, err)
		return
	}
	defer func() { _ = server.Close() }()
	half := p.rtt / 2
	done := make(chan struct{})
	go func() {
		delayLine(client, server, half, accepted.Add(p.rtt))
		close(done)
	}()
	delayLine(server, client, half, time.Time{})
	<-done
}

// chunk is what the delay line carries: data, or the end of the stream (err set: io.EOF for a
// half-close, anything else for a broken connection).
type chunk struct {
	data []byte
	due  time.Time
	err  error
}

// delayLine copies src to dst, each byte leaving `delay` after it arrived but not before
// notBefore + delay. It returns once src has ended and everything before the end was delivered,
// or once either side failed (then both are closed).
func delayLine(src, dst net.Conn, delay time.Duration, notBefore time.Time) {
	line := make(chan chunk, inFlightChunks)
	go func() {
		defer close(line)
		buf := make([]byte, chunkSize)
		for {
			n, err := src.Read(buf)
			at := time.Now()
			if at.Before(notBefore) {
				at = notBefore
			}
			due := at.Add(delay)
			if n > 0 {
				line <- chunk{data: bytes.Clone(buf[:n]), due: due}
			}
			if err != nil {
				line <- chunk{due: due, err: err}
				return
			}
		}
	}()
	abort := func() {
		_ = src.Close()
		_ = dst.Close()
	}
	failed := false
	for c := range line {
		if failed {
			continue // drain, so the reader is never stuck on a full line
		}
		time.Sleep(time.Until(c.due))
		switch {
		case c.err == nil:
			if _, err := dst.Write(c.data); err != nil {
				failed = true
				abort()
			}
		case errors.Is(c.err, io.EOF):
			if tcp, ok := dst.(*net.TCPConn); ok {
				_ = tcp.CloseWrite()
			} else {
				abort()
			}
		default:
			failed = true
			abort()
		}
	}
}
