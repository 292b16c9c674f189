package normalize

import "testing"

func TestURLPortAndHost(t *testing.T) {
	for p, want := range map[string]bool{"": true, "1": true, "443": true, "65535": true, "0": false, "65536": false, "99999": false, "-1": false} {
		if got := URLPort(p); got != want {
			t.Errorf("URLPort(%q) = %v, want %v", p, got, want)
		}
	}
	for h, want := range map[string]bool{
		"example.com": true, "xn--r8jz45g.jp": true, "localhost": true, "example.com.": true, "192.0.2.1": true, "[2001:db8::1]": true, "2001:db8::1": true,
		"exa\u202emple.com": false, "例え.jp": false, "-bad.com": false, "a..b": false, "": false, "ex ample.com": false,
	} {
		if got := URLHost(h); got != want {
			t.Errorf("URLHost(%q) = %v, want %v", h, got, want)
		}
	}
}
