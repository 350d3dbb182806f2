// A stdio MCP server in Go for the tests (standard library only): initialize, tools/list, and one tool, "fetch_user",
// whose call makes an HTTPS GET to $API_URL with "Authorization: Bearer $API_TOKEN" (CA from $CA_FILE) and answers
// with the HTTP status. One JSON-RPC message per line, as the MCP stdio transport frames them.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
)

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

func client() *http.Client {
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(os.Getenv("CA_FILE")); err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func fetchUser(c *http.Client) string {
	req, err := http.NewRequest("GET", os.Getenv("API_URL"), nil)
	if err != nil {
		return "bad API_URL: " + err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("API_TOKEN"))
	resp, err := c.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return fmt.Sprintf("status %d", resp.StatusCode)
}

func result(id json.RawMessage, value interface{}) map[string]interface{} {
	return map[string]interface{}{"jsonrpc": "2.0", "id": id, "result": value}
}

func main() {
	c := client()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if json.Unmarshal(in.Bytes(), &r) != nil || len(r.ID) == 0 {
			continue // notifications and junk get no answer
		}
		switch r.Method {
		case "initialize":
			out.Encode(result(r.ID, map[string]interface{}{
				"protocolVersion": "2025-06-18",
				"capabilities":    map[string]interface{}{"tools": map[string]interface{}{}},
				"serverInfo":      map[string]interface{}{"name": "go-test-server", "version": "1.0.0"},
			}))
		case "tools/list":
			out.Encode(result(r.ID, map[string]interface{}{"tools": []interface{}{map[string]interface{}{
				"name": "fetch_user", "description": "GET the API's user with the token",
				"inputSchema": map[string]interface{}{"type": "object", "properties": map[string]interface{}{}},
			}}}))
		case "tools/call":
			text := fetchUser(c)
			out.Encode(result(r.ID, map[string]interface{}{
				"content": []interface{}{map[string]interface{}{"type": "text", "text": text}}}))
		default:
			out.Encode(map[string]interface{}{"jsonrpc": "2.0", "id": r.ID,
				"error": map[string]interface{}{"code": -32601, "message": "method not found"}})
		}
	}
}
