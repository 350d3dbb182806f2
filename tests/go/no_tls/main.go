// A Go program without crypto/tls: the coverage report must say "Go, no crypto/tls", and nothing is probed.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	fmt.Println("token length", len(os.Getenv("API_TOKEN")))
	if len(os.Args) > 1 {
		if d, err := time.ParseDuration(os.Args[1]); err == nil {
			time.Sleep(d)
		}
	}
}
