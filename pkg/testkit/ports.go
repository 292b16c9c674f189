package testkit

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// FreePort finds a port on 127.0.0.1 that a process the caller starts next
// can listen on. It is taken below Linux's ephemeral range (32768–60999 by
// default): a port the kernel hands out for ":0" comes from that range,
// where the outgoing connections of every process on the machine take
// their source ports, and one of them can take the port before the process
// listens on it ("address already in use": seen in the bench, and in the
// e2e stacks while other packages' tests ran beside them).
func FreePort() (int, error) {
	givenMu.Lock()
	defer givenMu.Unlock()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if given[port] {
			continue // free now, but handed to a process that has not bound it yet
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		given[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("no free port in 20000–31999")
}

// FreeAddr is FreePort as host:port; it fails tb when no port is free.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	port, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// given are the ports FreePort handed out in this process: two processes
// started one after the other must not both be given a port that neither
// has bound yet.
var (
	givenMu sync.Mutex
	given   = map[int]bool{}
)
