// Command naiveclient is the naive request/response load generator that
// sockit bench is compared with: a goroutine per connection writing a
// request and reading the response, counting in a shared atomic. It prints
// the requests per second.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "echo server (loopback only in the harness)")
	conns := flag.Int("c", 100, "connections")
	dur := flag.Duration("d", 5*time.Second, "duration")
	size := flag.Int("size", 64, "request size")
	flag.Parse()
	var n atomic.Int64
	var wg sync.WaitGroup
	open := make([]net.Conn, *conns)
	for i := range open {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		open[i] = c
	}
	// Timing starts when every connection is open, as in sockit bench.
	start := time.Now()
	end := start.Add(*dur)
	for _, c := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.SetDeadline(end)
			for time.Now().Before(end) {
				req := make([]byte, *size)
				if _, err := c.Write(req); err != nil {
					return
				}
				resp := make([]byte, *size)
				if _, err := io.ReadFull(c, resp); err != nil {
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%.0f\n", float64(n.Load())/time.Since(start).Seconds())
}
