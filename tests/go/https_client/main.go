// An HTTPS client for the tests: after -wait, GET (or POST with -body) URL with "Authorization: Bearer $API_TOKEN", trusting the
// PEM CA in $CA_FILE, over HTTP/1.1 or HTTP/2 (-http2), -n requests on one connection; prints status and body size.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	useHTTP2 := flag.Bool("http2", false, "negotiate HTTP/2 (ALPN h2)")
	requests := flag.Int("n", 1, "requests on the same connection")
	body := flag.String("body", "", "POST this body instead of a GET")
	wait := flag.Duration("wait", 0, "sleep this long before the first request (an MCP server called later)")
	timed := flag.Bool("time", false, "print only the requests' seconds (after the first, which connects)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: https_client [-http2] [-n N] [-body TEXT] URL")
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(os.Getenv("CA_FILE")); err == nil {
		pool.AppendCertsFromPEM(ca)
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
