// Package egress is how a service reaches an address that someone outside
// named — a webhook endpoint's URL, a partner's domain for its domain proof:
// never a loopback, private, link-local (the cloud metadata address) or
// other non-public address, whatever the name resolves to. The check is on
// the address dialled, after DNS, so a public name that resolves to
// 127.0.0.1 or 169.254.169.254 is refused as well as the literal address.
package egress

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// PublicAddr reports whether ip may be reached on an outsider's say-so: not
// loopback, private, link-local (cloud metadata), unspecified, multicast or
// carrier-grade NAT space.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() &&
		!ip.IsUnspecified() && !ip.IsMulticast() && !ip.IsInterfaceLocalMulticast() && !sharedAddressSpace.Contains(ip)
}

// sharedAddressSpace is RFC 6598 carrier-grade NAT space, private in all
// but name.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// Dialer returns a dialer with timeout that refuses to connect to an
// address PublicAddr refuses ("… is not a public address"), unless
// allowPrivate (development: receivers on this machine).
func Dialer(timeout time.Duration, allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !PublicAddr(ip) {
				return fmt.Errorf("%s is not a public address", host)
			}
			return nil
		}
	}
	return d
}

// Transport returns an HTTP transport that dials with Dialer and never
// through a proxy (a proxy would reach what the dialer refuses).
func Transport(timeout time.Duration, allowPrivate bool) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         Dialer(timeout, allowPrivate).DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: timeout,
	}
}
