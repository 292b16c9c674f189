package auth

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // every one must appear in the joined error
	}{
		{name: "dev config is valid", cfg: DevConfig("/tmp/keys")},
		{name: "url config is valid", cfg: Config{JWKSURL: "https://idp.example/jwks.json", Issuer: "i", Audience: "a"}},
		{name: "everything wrong at once", cfg: Config{ClockSkew: time.Hour, Algorithms: []string{"none", "HS256"}},
			want: []string{"JWKSFile and JWKSURL", "Issuer", "Audience", "ClockSkew", `"none"`, `"HS256"`}},
		{name: "plain http JWKS", cfg: Config{JWKSURL: "http://idp.example/jwks.json", Issuer: "i", Audience: "a"}, want: []string{"https"}},
		{name: "both sources", cfg: Config{JWKSURL: "https://x/j", JWKSFile: "f", Issuer: "i", Audience: "a"}, want: []string{"exclusive"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.WithDefaults().Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted a bad config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	d := Config{}.WithDefaults()
	if d.ClockSkew != 30*time.Second || strings.Join(d.Algorithms, ",") != "ES256,EdDSA,RS256" {
		t.Fatalf("defaults = skew %s algs %v", d.ClockSkew, d.Algorithms)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	ps, err := ParseTrustedProxies(" 10.0.0.0/8, 127.0.0.1 ,,::1")
	if err != nil || len(ps) != 3 || ps[1].String() != "127.0.0.1/32" || ps[2].String() != "::1/128" {
		t.Fatalf("got %v, %v", ps, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8, nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("bad entry accepted: %v", err)
	}
}
