package egress

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPublicAddr(t *testing.T) {
	for addr, public := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1::1": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "::": false, "224.0.0.1": false,
		"100.64.0.1": false, "::ffff:127.0.0.1": false, "fd00::1": false,
	} {
		if got := PublicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddr(%s) = %v, want %v", addr, got, public)
		}
	}
}

// TestTransportRefusesWhatANameResolvesTo: the check is on the address
// dialled, so "localhost" is refused like 127.0.0.1; allowed in
// development.
func TestTransportRefusesWhatANameResolvesTo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		c := &http.Client{Transport: Transport(time.Second, false)}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/", nil)
		res, err := c.Do(req)
		if err == nil {
			res.Body.Close()
			t.Fatalf("%s: reached a loopback server", host)
		}
		if !strings.Contains(err.Error(), "is not a public address") {
			t.Errorf("%s: %v", host, err)
		}
	}
	c := &http.Client{Transport: Transport(time.Second, true)}
	res, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("development: %v", err)
	}
	res.Body.Close()
}
