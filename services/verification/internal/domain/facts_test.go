package domain

import "testing"

func TestCorporateNumber(t *testing.T) {
	tests := []struct {
		n  string
		ok bool
	}{
		{"7000012050002", true}, // National Tax Agency
		{"8000012050002", false},
		{"700001205000", false},
		{"70000120500021", false},
		{"700001205000a", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidCorporateNumber(tt.n); got != tt.ok {
			t.Errorf("ValidCorporateNumber(%q) = %v", tt.n, got)
		}
	}
	if d, ok := CorporateNumberCheckDigit("000012050002"); !ok || d != 7 {
		t.Errorf("check digit = %d, %v", d, ok)
	}
}

func TestDomainCovers(t *testing.T) {
	tests := []struct {
		email, site string
		want        bool
	}{
		{"example.co.jp", "example.co.jp", true},
		{"mail.example.co.jp", "example.co.jp", true},
		{"EXAMPLE.co.jp", "www.example.co.jp", true},
		{"badexample.co.jp", "example.co.jp", false},
		{"example.co.jp", "shop.example.co.jp", false},
		{"example.co.jp", "", false},
		{"example.co.jp", "jp", false},
	}
	for _, tt := range tests {
		if got := DomainCovers(tt.email, tt.site); got != tt.want {
			t.Errorf("DomainCovers(%q, %q) = %v", tt.email, tt.site, got)
		}
	}
	if got := WebsiteDomain("https://www.Example.co.jp/about"); got != "example.co.jp" {
		t.Errorf("WebsiteDomain = %q", got)
	}
}
