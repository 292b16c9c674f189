package normalize

import (
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	for _, c := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"as it is", "550 5.1.1 no such user\nsee the log", 100, "550 5.1.1 no such user\nsee the log"},
		{"bytes that are not UTF-8", "550 \xff\xfe gone", 100, "550 \uFFFD gone"},
		{"NUL and other controls", "a\x00b\rc\x1bd\te", 100, "abcd\te"},
		{"cut at a character", "ユーザー", 7, "ユー"},
		{"cut on a boundary", "ユーザー", 6, "ユー"},
		{"nothing fits", "ユ", 2, ""},
	} {
		got := Clip(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) || len(got) > c.n {
			t.Errorf("%s: Clip(%q, %d) = %q, want %q", c.name, c.in, c.n, got, c.want)
		}
	}
}
