package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		market Country
		in     string
		want   string
	}{
		{"JP", "03-1234-5678", "+81312345678"},
		{"JP", "０３－１２３４－５６７８", "+81312345678"},
		{"JP", "(03) 1234-5678", "+81312345678"},
		{"JP", "+81 03-1234-5678", "+81312345678"}, // stray trunk 0 after the country code
		{"JP", "+81-3-1234-5678", "+81312345678"},
		{"JP", "0081-3-1234-5678", "+81312345678"},
		{"JP", "090-1234-5678", "+819012345678"},
		{"JP", "+1 415 555 2671", "+14155552671"},
		{"US", "(415) 555-2671", "+14155552671"},
		{"JP", "12345", ""},
		{"JP", "phone", ""},
		{"JP", "", ""},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.market, tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizePhone(%s, %q) = %q, %v; want %q", tt.market, tt.in, got, err, tt.want)
		}
	}
	// An extension is refused the same way in every notation, never dropped.
	for _, in := range []string{"03-1234-5678 ext. 123", "03-1234-5678 ext 123", "03-1234-5678 x123", "03-1234-5678 #123",
		"03-1234-5678 内線123", "03-1234-5678（内線１２３）", "03-1234-5678 内123", "+1 415 555 2671 extension 9", "(415) 555-2671 X12"} {
		market := Country("JP")
		if strings.Contains(in, "415") {
			market = "US"
		}
		if _, err := NormalizePhone(market, in); !errors.Is(err, ErrPhoneExtension) {
			t.Errorf("NormalizePhone(%q) = %v, want ErrPhoneExtension", in, err)
		}
	}
}

func TestNormalizeWebsite(t *testing.T) {
	tests := []struct{ in, website, domain string }{
		{"example.co.jp", "https://example.co.jp", "example.co.jp"},
		{"https://www.Example.co.jp/", "https://www.example.co.jp", "example.co.jp"},
		{"http://example.com/ja/about?x=1#top", "http://example.com/ja/about", "example.com"},
		{"ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ", "https://www.example.com", "example.com"},
		{"localhost", "", ""},
		{"ftp://example.com", "", ""},
		{"https://user:pw@example.com", "", ""},
		{"exa mple.com", "", ""},
		{"https://example.c0m", "", ""},
		{"例え.jp", "https://xn--r8jz45g.jp", "xn--r8jz45g.jp"},
		{"https://www.Bücher.de/shop", "https://www.xn--bcher-kva.de/shop", "xn--bcher-kva.de"},
		{"https://xn--r8jz45g.jp", "https://xn--r8jz45g.jp", "xn--r8jz45g.jp"},
		{"https://example.com:8443/ja", "https://example.com:8443/ja", "example.com"},
		{"https://example.com:99999/", "", ""},
		{"example.com:0", "", ""},
	}
	for _, tt := range tests {
		w, d, err := NormalizeWebsite(tt.in)
		if (err == nil) != (tt.website != "") || (err == nil && (w != tt.website || d != tt.domain)) {
			t.Errorf("NormalizeWebsite(%q) = %q, %q, %v; want %q, %q", tt.in, w, d, err, tt.website, tt.domain)
		}
	}
	if _, _, err := NormalizeWebsite("https://xn--a.jp"); !errors.Is(err, ErrDomainIDNA) {
		t.Errorf("an invalid A-label: %v, want ErrDomainIDNA", err)
	}
}

func TestSameOrSubdomain(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"example.co.jp", "example.co.jp", true},
		{"mail.example.co.jp", "example.co.jp", true},
		{"example.co.jp", "jp.example.co.jp", true},
		{"badexample.co.jp", "example.co.jp", false},
		{"other.jp", "example.co.jp", false},
		{"", "example.co.jp", false},
	}
	for _, tt := range tests {
		if got := SameOrSubdomain(tt.a, tt.b); got != tt.want {
			t.Errorf("SameOrSubdomain(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestParseCountry(t *testing.T) {
	for _, in := range []string{"JP", "jp", "ＪＰ", " us "} {
		if _, ok := ParseCountry(in); !ok {
			t.Errorf("ParseCountry(%q) refused", in)
		}
	}
	for _, in := range []string{"XX", "JPN", "", "EU", "UK"} {
		if _, ok := ParseCountry(in); ok {
			t.Errorf("ParseCountry(%q) accepted", in)
		}
	}
}

func TestJPCorporateNumberValid(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"7000012050002", true},  // National Tax Agency
		{"1000012050002", false}, // check digit changed
		{"7000012050003", false}, // body changed
		{"700001205000", false},  // 12 digits
		{"700001205000X", false},
	}
	for _, tt := range tests {
		if got := JPCorporateNumberValid(tt.in); got != tt.want {
			t.Errorf("JPCorporateNumberValid(%q) = %v", tt.in, got)
		}
	}
}
