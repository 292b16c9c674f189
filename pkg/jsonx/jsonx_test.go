package jsonx

import "testing"

func TestHasNUL(t *testing.T) {
	for _, c := range []struct {
		json string
		want bool
	}{
		{`{"a":"b"}`, false},
		{`{"a":"\u0000"}`, true},
		{`{"a":"x\u0000y"}`, true},
		{`["\n","\u0000"]`, true},
		{`{"a":"\\u0000"}`, false}, // a backslash, then the text u0000
		{`{"a":"\\\u0000"}`, true}, // a backslash, then U+0000
		{`{"a":"\u00001"}`, true},  // U+0000 followed by "1"
		{`{"a":"\u0001\u0030"}`, false},
		{`{"\u0000":1}`, true},   // in a member name too
		{`{"a":"\u000"}`, false}, // not JSON; nothing to find
		{`\`, false},
		{``, false},
	} {
		if got := HasNUL([]byte(c.json)); got != c.want {
			t.Errorf("HasNUL(%s) = %v, want %v", c.json, got, c.want)
		}
	}
}
