// tunnelpeer: the Go side of stream-bench's UserPathBench (built with Debian's golang-go, standard library only).
//
//	tunnelpeer server -listen ADDR -ca F -cert F -key F      a stream server shaped like GoDoxy's agent
//	tunnelpeer echo -listen ADDR                             a TCP echo destination
//	tunnelpeer rate -server ADDR -to HOST:PORT -seconds N -workers N [-raw] -ca F -cert F -key F
//	tunnelpeer idle -server ADDR -to HOST:PORT -count N [-raw] -ca F -cert F -key F
//
// server: mutual TLS (TLS 1.2+, ALPN godoxy-agent-stream/1), reads the 275-byte header, checks version and CRC,
// dials the destination and copies both ways with half-close, as the original agent does. rate: new tunnels per
// second, each a full handshake (no resumption, as GoDoxy's client), header, one byte echoed, close; prints
// "tunnels N seconds S failed F". idle: opens N tunnels (each proven by a one-byte echo), prints "open N", holds
// them until standard input closes. -raw sends no header (for stunnel and socat, which dial a fixed destination).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const alpn = "godoxy-agent-stream/1"

var version = []byte{0x30, 0x2e, 0x31, 0x2e, 0x30, 0, 0, 0}

func header(host string, port string) []byte {
	h := make([]byte, 275)
	copy(h, version)
	h[8] = byte(len(host))
	copy(h[9:], host)
	h[264] = byte(len(port))
	copy(h[265:], port)
	binary.BigEndian.PutUint32(h[271:], crc32.ChecksumIEEE(h[:271]))
	return h
}

func tlsConfig(ca, cert, key string, server bool) *tls.Config {
	pair, err := tls.LoadX509KeyPair(cert, key)
	check(err)
	pem, err := os.ReadFile(ca)
	check(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("no CA certificate in " + ca)
	}
	c := &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS12}
	if server {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = pool
	} else {
		c.RootCAs = pool
		c.ServerName = "godoxy.agent"
		c.ClientSessionCache = nil // a full handshake per tunnel, as GoDoxy's client (rate -resume sets one)
	}
	return c
}

func serve(conn net.Conn) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	h := make([]byte, 275)
	if _, err := io.ReadFull(conn, h); err != nil {
		return
	}
	conn.SetReadDeadline(time.Time{})
	if string(h[:8]) != string(version) || h[264] > 5 || binary.BigEndian.Uint32(h[271:]) != crc32.ChecksumIEEE(h[:271]) {
		return
	}
	if h[270]&1 != 0 {
		return // health probe
	}
	host := string(h[9 : 9+int(h[8])])
	port, err := strconv.Atoi(string(h[265 : 265+int(h[264])]))
	if err != nil || port < 1 || port > 65535 {
		return
	}
	dst, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		return
	}
	defer dst.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(dst, conn)
		dst.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(conn, dst)
	conn.(*tls.Conn).CloseWrite()
	<-done
}

func echo(conn net.Conn) {
	defer conn.Close()
	// not io.Copy(conn, conn): on Linux that splices through a pipe, two more descriptors per connection, and
	// thousands of idle tunnels then run the echo out of descriptors before the server under test
	io.CopyBuffer(struct{ io.Writer }{conn}, struct{ io.Reader }{conn}, make([]byte, 8192))
}

func listen(addr string, config *tls.Config, handle func(net.Conn)) {
	var l net.Listener
	var err error
	if config != nil {
		l, err = tls.Listen("tcp", addr, config)
	} else {
		l, err = net.Listen("tcp", addr)
	}
	check(err)
	fmt.Printf("listening %s\n", l.Addr())
	os.Stdout.Sync()
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }() // ends with its parent
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go handle(c)
	}
}

// tunnel opens one tunnel and proves it with a one-byte echo.
func tunnel(server string, config *tls.Config, h []byte) (net.Conn, error) {
	var c net.Conn
	var err error
	if config != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", server, config)
	} else {
		c, err = net.DialTimeout("tcp", server, 10*time.Second)
	}
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := append(append([]byte{}, h...), 42)
	if _, err := c.Write(msg); err != nil {
		c.Close()
		return nil, err
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 42 {
		c.Close()
		return nil, fmt.Errorf("no echo: %v", err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: tunnelpeer server|echo|rate|idle [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("listen", "127.0.0.1:0", "listen address")
	server := fs.String("server", "", "server address")
	to := fs.String("to", "", "destination HOST:PORT named in the header")
	ca := fs.String("ca", "", "CA file")
	cert := fs.String("cert", "", "certificate file")
	key := fs.String("key", "", "key file")
	seconds := fs.Float64("seconds", 5, "how long to measure")
	workers := fs.Int("workers", 4, "tunnels opened at once")
	count := fs.Int("count", 1000, "idle tunnels")
	raw := fs.Bool("raw", false, "send no header")
	plain := fs.Bool("plain", false, "no TLS (a plain TCP forwarder in front)")
	resume := fs.Bool("resume", false, "rate: clients keep their sessions and resume them (TLS 1.3 tickets)")
	fs.Parse(os.Args[2:])
	var h []byte
	if !*raw && *to != "" {
		host, port, err := net.SplitHostPort(*to)
		check(err)
		h = header(host, port)
	}
	var config *tls.Config
	switch os.Args[1] {
	case "server":
		listen(*addr, tlsConfig(*ca, *cert, *key, true), serve)
	case "echo":
		listen(*addr, nil, echo)
	case "rate":
		if !*plain {
			config = tlsConfig(*ca, *cert, *key, false)
			if *resume {
				config.ClientSessionCache = tls.NewLRUClientSessionCache(16)
			}
		}
		var ok, failed, resumed int64
		end := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
		start := time.Now()
		var wg sync.WaitGroup
		for i := 0; i < *workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					c, err := tunnel(*server, config, h)
					if err != nil {
						atomic.AddInt64(&failed, 1)
						continue
					}
					if t, isTLS := c.(*tls.Conn); isTLS && t.ConnectionState().DidResume {
						atomic.AddInt64(&resumed, 1)
					}
					c.Close()
					atomic.AddInt64(&ok, 1)
				}
			}()
		}
		wg.Wait()
		fmt.Printf("tunnels %d seconds %.3f failed %d resumed %d\n", ok, time.Since(start).Seconds(), failed, resumed)
	case "idle":
		if !*plain {
			config = tlsConfig(*ca, *cert, *key, false)
		}
		conns := make([]net.Conn, 0, *count)
		var mu sync.Mutex
		var wg sync.WaitGroup
		var failed int64
		sem := make(chan struct{}, 32)
		for i := 0; i < *count; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c, err := tunnel(*server, config, h)
				if err != nil {
					atomic.AddInt64(&failed, 1)
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}()
		}
		wg.Wait()
		fmt.Printf("open %d failed %d\n", len(conns), failed)
		os.Stdout.Sync()
		io.Copy(io.Discard, os.Stdin)
		for _, c := range conns {
			c.Close()
		}
	default:
		fail("unknown mode " + os.Args[1])
	}
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "tunnelpeer: "+msg)
	os.Exit(2)
}
