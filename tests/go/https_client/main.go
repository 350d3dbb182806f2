// An HTTPS client for the tests: after -wait, GET (or POST with -body) URL with "Authorization: Bearer $API_TOKEN", trusting the
// PEM CA in $CA_FILE, over HTTP/1.1 or HTTP/2 (-http2), -n requests on one connection; prints status and body size.
// -handshake-in-write N: N connections, each one request written with tls.Conn.Write before any handshake (the
// handshake runs inside that Write and parks the goroutine on the server's answer, so its write(2) often runs on
// another thread than the Write's entry), beside -busy goroutines that keep the scheduler's threads moving; with
// -inherited their TCP connections are the fds 3, 4, ... its parent connected and passed on.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Spins until stop is set: a goroutine the scheduler must preempt, so a parked one resumes on whichever thread is free.
func spin(stop *atomic.Bool) {
	for x := 0; !stop.Load(); x++ {
		if x%1000000 == 0 {
			time.Sleep(0)
		}
	}
}

// One request on a fresh TLS connection over raw whose handshake happens inside the request's Write (the connection is
// left open: closed ones could give the next its *Conn address and fd).
func requestWithHandshakeInWrite(raw net.Conn, target *url.URL, config *tls.Config) (*tls.Conn, error) {
	conn := tls.Client(raw, config)
	return conn, getWithBearer(conn, target)
}

// connections TCP connections to the target's host.
func dial(target *url.URL, connections int) []net.Conn {
	var raws []net.Conn
	for i := 0; i < connections; i++ {
		raw, err := net.Dial("tcp", target.Host)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		raws = append(raws, raw)
	}
	return raws
}

func getWithBearer(conn *tls.Conn, target *url.URL) error {
	request := "GET " + target.RequestURI() + " HTTP/1.1\r\nHost: " + target.Host + "\r\nAuthorization: Bearer " +
		os.Getenv("API_TOKEN") + "\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(request)); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// The connected sockets this process inherited as fds 3, 4, ...: made by its parent, before the process existed.
func inherited(connections int) []net.Conn {
	var raws []net.Conn
	for i := 0; i < connections; i++ {
		file := os.NewFile(uintptr(3+i), "inherited")
		raw, err := net.FileConn(file)
		file.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "inherited fd:", err)
			os.Exit(2)
		}
		raws = append(raws, raw)
	}
	return raws
}

// -handshake-in-write: the TCP connections are dialed after wait, or (useInherited) inherited from the parent.
func handshakesInWrite(address string, pool *x509.CertPool, connections, busy int, useInherited bool) {
	target, err := url.Parse(address)
	if err != nil {
		fmt.Fprintln(os.Stderr, "url:", err)
		os.Exit(2)
	}
	var raws []net.Conn
	if useInherited {
		raws = inherited(connections)
	} else {
		raws = dial(target, connections)
	}
	config := &tls.Config{RootCAs: pool, ServerName: target.Hostname()}
	var stop atomic.Bool
	for i := 0; i < busy; i++ {
		go spin(&stop)
	}
	var open []*tls.Conn
	for _, raw := range raws {
		conn, err := requestWithHandshakeInWrite(raw, target, config)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		open = append(open, conn)
	}
	stop.Store(true)
	for _, conn := range open {
		conn.Close()
	}
	fmt.Println("requests", connections)
}

func main() {
	useHTTP2 := flag.Bool("http2", false, "negotiate HTTP/2 (ALPN h2)")
	requests := flag.Int("n", 1, "requests on the same connection")
	body := flag.String("body", "", "POST this body instead of a GET")
	wait := flag.Duration("wait", 0, "sleep this long before the first request (an MCP server called later)")
	timed := flag.Bool("time", false, "print only the requests' seconds (after the first, which connects)")
	inWrite := flag.Int("handshake-in-write", 0, "N connections, each handshaking inside its one request's Write")
	busy := flag.Int("busy", 0, "goroutines spinning beside -handshake-in-write")
	useInherited := flag.Bool("inherited", false, "-handshake-in-write's TCP connections are fds 3.. from the parent")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: https_client [-http2] [-n N] [-body TEXT] URL")
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(os.Getenv("CA_FILE")); err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	if *inWrite > 0 {
		time.Sleep(*wait)
		handshakesInWrite(flag.Arg(0), pool, *inWrite, *busy, *useInherited)
		return
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: *useHTTP2}
	if !*useHTTP2 {
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Transport: transport}
	time.Sleep(*wait)
	var started time.Time
	for i := 0; i < *requests; i++ {
		if i == 1 {
			started = time.Now()
		}
		method, reader := "GET", io.Reader(nil)
		if *body != "" {
			method, reader = "POST", strings.NewReader(*body)
		}
		req, err := http.NewRequest(method, flag.Arg(0), reader)
		if err != nil {
			fmt.Fprintln(os.Stderr, "request:", err)
			os.Exit(1)
		}
		req.Header.Set("Authorization", "Bearer "+os.Getenv("API_TOKEN"))
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, "status", resp.StatusCode)
			os.Exit(1)
		}
		if !*timed {
			fmt.Println(resp.Proto, resp.StatusCode, len(data))
		}
	}
	if *timed && *requests > 1 {
		fmt.Printf("%.6f\n", time.Since(started).Seconds())
	}
}
