package normalize

import "strconv"

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
