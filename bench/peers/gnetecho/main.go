// Command gnetecho is a gnet v2 TCP echo server, the event-loop peer that
// sockit's echo is measured against in bench/run.sh.
package main

import (
	"flag"
	"log"

	"github.com/panjf2000/gnet/v2"
)

type echo struct{ gnet.BuiltinEventEngine }

func (*echo) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on (loopback only in the harness)")
	flag.Parse()
	log.Fatal(gnet.Run(&echo{}, "tcp://"+*addr, gnet.WithMulticore(true), gnet.WithReusePort(false)))
}
