package domain

import "testing"

func TestNormalizeName(t *testing.T) {
	tests := []struct{ a, b string }{
		{"（株）サンプル商事", "株式会社サンプル商事"},
		{"㈱サンプル商事", "株式会社サンプル商事"},
		{"株式会社　サンプル 商事", "株式会社サンプル商事"},
		{"ｻﾝﾌﾟﾙ（有）", "サンプル有限会社"},
		{"ＡＢＣ　Ｔｅｃｈ（合）", "abctech合同会社"},
	}
	for _, tt := range tests {
		if got, want := NormalizeName(tt.a), NormalizeName(tt.b); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tt.a, got, want)
		}
	}
	if NormalizeName("株式会社サンプル") == NormalizeName("サンプル株式会社") {
		t.Error("前株 and 後株 are different legal names")
	}
	if NormalizeName("株式会社サンプル.") == NormalizeName("株式会社サンプル") {
		t.Error("punctuation is part of a name")
	}
}

func TestNormalizeAddressPart(t *testing.T) {
	tests := []struct{ in, want string }{
		{"丸の内5丁目2番地3", "丸の内5-2-3"},
		{"丸の内５－２－３", "丸の内5-2-3"},
		{"丸の内5‐2‐3", "丸の内5-2-3"},
		{"丸の内５ー２ー３", "丸の内5-2-3"},
		{"丸の内五丁目二番三号", "丸の内5-2-3"},
		{"丸の内5丁目2番3号", "丸の内5-2-3"},
		{"丸の内十二丁目", "丸の内12"},
		{"二番町3番地", "二番町3"},
		{"八王子市", "八王子市"},
		{"1番1号 ABCビル 5階", "1-1abcビル5階"},
		{"1-1ABCビル5階", "1-1abcビル5階"},
		{"大手町1の2", "大手町1-2"},
	}
	for _, tt := range tests {
		if got := NormalizeAddressPart(tt.in); got != tt.want {
			t.Errorf("NormalizeAddressPart(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

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
