package jsonx

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

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

type fuzzBody struct {
	Name     string            `json:"name"`
	On       *bool             `json:"on"`
	Items    []fuzzItem        `json:"items"`
	Pair     [2]uint8          `json:"pair"`
	Labels   map[string]string `json:"labels"`
	Any      any               `json:"any"`
	Ratio    float32           `json:"ratio"`
	Embedded                   // its fields are the body's
}

type fuzzItem struct {
	N     int8      `json:"n"`
	Tags  []string  `json:"tags"`
	Inner *fuzzItem `json:"inner"`
}

type Embedded struct {
	Code string `json:"code"`
}

// FindMismatch finds a value of the wrong type exactly when encoding/json
// reports one, at the place encoding/json names (which leaves out indices).
func FuzzFindMismatchAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"items":[{"n":1},{"n":"x"}]}`, `{"pair":[1,256]}`, `{"labels":{"a":1}}`, `[]`,
		`{"items":[{"inner":{"tags":[1]}}]}`, `{"ratio":1e40}`, `{"code":5,"any":{"x":[]}}`, `{"on":"true"}`, `{"name":null}`, `{"items":[{"inner":{"tAgs":[0]}}]}`, `{"lABels":{"0":0}}`, `{"pAir":[0,0,270]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v fuzzBody
		err := json.Unmarshal([]byte(s), &v)
		var te *json.UnmarshalTypeError
		wrong := errors.As(err, &te)
		m, found := FindMismatch([]byte(s), &fuzzBody{})
		if !json.Valid([]byte(s)) {
			return
		}
		if wrong != found {
			t.Fatalf("%s: encoding/json %v, FindMismatch %+v %v", s, err, m, found)
		}
		// encoding/json names the embedded struct too ("Embedded.code"), which
		// the document has no member for, stops at a map ("labels" for
		// FindMismatch's "labels.a") and names a member matched without regard
		// to case by the field's name ("tags" for the document's "tAgs").
		if !wrong {
			return
		}
		want, got := strings.ReplaceAll(te.Field, "Embedded.", ""), indexFree(m.Path)
		if !strings.EqualFold(got, want) && !(want == "labels" && strings.HasPrefix(strings.ToLower(got), "labels.")) {
			t.Fatalf("%s: encoding/json names %q, FindMismatch %q", s, te.Field, m.Path)
		}
	})
}

// indexFree is path as encoding/json names it: without array indices.
func indexFree(path string) string {
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The fast scan for a duplicate member agrees with the walk of the
// decoder's tokens on every JSON text.
func FuzzDuplicateMember(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":1},"b":{"a":1}}`, `[{"a":1},{"a":1}]`, `{"a":1,"\u0061":2}`,
		`{"a\"b":1,"a\"b":1}`, `{"x":"\\","x":1}`, `{"":1,"":2}`, `"a"`, `{"k":[{"a":[]},{"a":[],"b":{}}],"k2":{"a":"a","b":"a"}}`, `1e700`,
		"{\"\xff\":\"\",\"\xfe\":0}"} { // two invalid bytes, both read as U+FFFD
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		if !json.Valid(b) {
			return
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		_, slow, err := duplicateIn(dec, "")
		if err != nil {
			t.Fatal(err)
		}
		if fast := hasDuplicateMember(b); fast != slow {
			t.Fatalf("%s: the scan says %v, the decoder's tokens %v", s, fast, slow)
		}
	})
}
