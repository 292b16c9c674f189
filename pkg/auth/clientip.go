package auth

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// ClientIP returns the caller's IP address. X-Forwarded-For is believed only
// when the direct peer is one of trusted; then the right-most address not
// itself trusted is the client (entries further left are caller-supplied
// and can be forged).
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := remoteAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !inPrefixes(peer, trusted) {
		return peer.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, splitList(h)...)
	}
	for _, h := range slices.Backward(hops) {
		a, err := netip.ParseAddr(h)
		if err != nil {
			break // a garbled hop: trust nothing further left
		}
		a = a.Unmap()
		if !inPrefixes(a, trusted) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// splitList splits a comma-separated list, trimming blanks and dropping empties.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
