package normalize

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// URLPort reports whether p, a URL's port as net/url's URL.Port returns it,
// is absent or a TCP port (1-65535). net/url accepts any run of digits
// there, so "https://example.com:99999/" parses; every service that takes a
// web address from a client refuses such a port with this one rule.
func URLPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// URLHost reports whether h, a URL's host name as net/url's URL.Hostname
// returns it, is a DNS name as a resolver takes it (labels of ASCII letters,
// digits and inner hyphens, at most 63 characters each and 253 in all, an
// optional final dot; an internationalised name in its xn-- form) or an IP
// address. net/url accepts any characters there, bidi controls included.
func URLHost(h string) bool {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	return len(h) <= 254 && hostName.MatchString(h)
}

var hostName = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)
