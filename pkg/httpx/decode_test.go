package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

func TestDecodeJSONErrors(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	cases := []struct {
		name, ct, body, code string
		status               int
		encoding             string
	}{
		{"wrong content type", "text/plain", `{"name":"a"}`, CodeUnsupportedMediaType, 415, ""},
		// A body in a content coding is refused as such, whatever it holds.
		{"gzip", "application/json", "\x1f\x8b\x08\x00\x00\x00\x00\x00", CodeUnsupportedEncoding, 415, "gzip"},
		{"labelled br, plain inside", "application/json", `{"name":"a"}`, CodeUnsupportedEncoding, 415, "br"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", MaxBody) + `"}`, CodeTooLarge, 413, ""},
		{"invalid utf8", "application/json", "{\"name\":\"\xff\"}", CodeInvalidUTF8, 400, ""},
		{"U+0000", "application/json", `{"name":"a\u0000b"}`, CodeNULCharacter, 400, ""},
		{"malformed", "application/json", `{"name":`, CodeMalformedJSON, 400, ""},
		{"unknown field", "application/json", `{"name":"a","nick":"b"}`, CodeUnknownField, 400, ""},
		{"wrong type", "application/json", `{"age":"x"}`, CodeWrongType, 400, ""},
		{"an array for an object", "application/json", `[]`, CodeWrongType, 400, ""},
		{"a string for an object", "application/json", `"x"`, CodeWrongType, 400, ""},
		{"trailing data", "application/json", `{"name":"a"} {}`, CodeMalformedJSON, 400, ""},
		{"a member twice", "application/json", `{"name":"a","age":1,"name":"b"}`, CodeDuplicateMember, 400, ""},
		{"empty", "application/json", ``, CodeEmptyBody, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(c.body))
			r.Header.Set("Content-Type", c.ct)
			if c.encoding != "" {
				r.Header.Set("Content-Encoding", c.encoding)
			}
			w := httptest.NewRecorder()
			var v body
			_, err := DecodeJSON(w, r, &v)
			ae, ok := apperr.As(err)
			if !ok || ae.Code != c.code {
				t.Fatalf("want %s, got %v", c.code, err)
			}
			if c.encoding != "" && w.Header().Get("Accept-Encoding") != "identity" {
				t.Fatalf("Accept-Encoding %q", w.Header().Get("Accept-Encoding"))
			}
			if p := ProblemFrom(err); p.Status != c.status {
				t.Fatalf("status %d, want %d", p.Status, c.status)
			}
		})
	}
}

func TestProblemFlattensExtensions(t *testing.T) {
	err := apperr.Conflict("x.dup", "duplicate").With("matched_on", []string{"name"})
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("GET", "/a", nil), err)
	if w.Code != 409 || w.Header().Get("Content-Type") != ProblemContentType ||
		!strings.Contains(w.Body.String(), `"matched_on":["name"]`) || !strings.Contains(w.Body.String(), `"code":"x.dup"`) {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
}

func TestUnknownNestedFieldIsReportedWithItsPath(t *testing.T) {
	type support struct {
		Email string `json:"email"`
	}
	type program struct {
		Program string   `json:"program"`
		Support *support `json:"support,omitempty"`
	}
	type address struct {
		City string `json:"city"`
	}
	type body struct {
		Name     string             `json:"name"`
		Address  address            `json:"address"`
		Programs []program          `json:"programs"`
		Labels   map[string]address `json:"labels"`
		Extra    any                `json:"extra"`
	}
	for in, want := range map[string]string{
		`{"name":"a","nick":"b"}`:                                                        "nick",
		`{"address":{"city":"x","county":"y"}}`:                                          "address.county",
		`{"Address":{"City":"x","county":"y"}}`:                                          "Address.county",
		`{"programs":[{"program":"p"},{"program":"q","support":{"email":"e","fax":1}}]}`: "programs[1].support.fax",
		`{"labels":{"hq":{"city":"x","zip":"1"}}}`:                                       "labels.hq.zip",
		`{"extra":{"anything":{"goes":[1]}},"address":{"town":"x"}}`:                     "address.town",
		`{"":""}`:            `""`,
		`{"address":{"":1}}`: `address.""`,
	} {
		var v body
		err := DecodeStrict([]byte(in), &v)
		ae, ok := apperr.As(err)
		if !ok || ae.Code != CodeUnknownField || len(ae.Fields) != 1 || ae.Fields[0].Field != want {
			t.Errorf("%s: got %v %+v, want field %s", in, err, ae, want)
		}
	}
}

// A value of the wrong type is named by its full path, array indices
// included, and told in JSON's words: never a Go type name.
func TestAWrongTypeIsToldInJSONsWords(t *testing.T) {
	type program struct {
		Program string `json:"program"`
		Seats   int16  `json:"seats"`
	}
	type body struct {
		Name     string            `json:"name"`
		Active   *bool             `json:"active"`
		Programs []program         `json:"programs"`
		Labels   map[string]string `json:"labels"`
		Since    time.Time         `json:"since"`
		Extra    any               `json:"extra"`
		Count    uint8             `json:"count"`
		Ratio    float64           `json:"ratio"`
		Digest   [2]uint8          `json:"digest"`
	}
	for in, want := range map[string]struct{ field, message string }{
		`{"programs":{}}`:  {"programs", "must be a JSON array, not a JSON object"},
		`{"programs":[7]}`: {"programs[0]", "must be a JSON object, not 7"},
		`{"programs":[{"program":"a"},{"program":1}]}`: {"programs[1].program", "must be a JSON string, not 1"},
		`{"programs":[{"seats":1.5}]}`:                 {"programs[0].seats", "must be an integer from -32768 to 32767, not 1.5"},
		`{"programs":[{"seats":40000}]}`:               {"programs[0].seats", "must be an integer from -32768 to 32767, not 40000"},
		`{"name":["a"]}`:                               {"name", "must be a JSON string, not a JSON array"},
		`{"active":"yes"}`:                             {"active", "must be true or false, not a JSON string"},
		`{"labels":{"a":"b","c":false}}`:               {"labels.c", "must be a JSON string, not false"},
		`{"extra":{"x":[1]},"count":-1}`:               {"count", "must be a non-negative integer up to 255, not -1"},
		`{"since":"2026-01-01T00:00:00Z","ratio":"1"}`: {"ratio", "must be a number, not a JSON string"},
		`{"digest":"ab"}`:                              {"digest", "must be a JSON array, not a JSON string"},
		`{"name":null,"programs":null,"ratio":true}`:   {"ratio", "must be a number, not true"},
	} {
		var v body
		err := DecodeStrict([]byte(in), &v)
		ae, ok := apperr.As(err)
		if !ok || ae.Code != CodeWrongType || len(ae.Fields) != 1 || ae.Fields[0].Field != want.field || ae.Fields[0].Message != want.message {
			t.Errorf("%s: got %v %+v, want %s %q", in, err, ae, want.field, want.message)
		}
	}
	var v body
	if err := DecodeStrict([]byte(`[1]`), &v); err == nil || err.Error() != CodeWrongType+": the body must be a JSON object, not a JSON array" {
		t.Errorf("a whole body of the wrong type: %v", err)
	}
}

// A member given twice in one object is refused by its path; the same
// name in different objects is not a duplicate.
func TestAMemberGivenTwiceIsRefused(t *testing.T) {
	type item struct {
		Program string `json:"program"`
	}
	type body struct {
		Name  string `json:"name"`
		Items []item `json:"items"`
		Meta  struct {
			Name string `json:"name"`
		} `json:"meta"`
	}
	for in, want := range map[string]string{
		`{"name":"a","name":"b"}`:                                   "name",
		`{"items":[{"program":"a"},{"program":"b","program":"c"}]}`: "items[1].program",
		`{"meta":{"name":"x","name":"x"}}`:                          "meta.name",
		`{"name":"a","meta":{"name":"a"},"items":[],"items":[]}`:    "items",
	} {
		var v body
		err := DecodeStrict([]byte(in), &v)
		ae, ok := apperr.As(err)
		if !ok || ae.Code != CodeDuplicateMember || len(ae.Fields) != 1 || ae.Fields[0].Field != want {
			t.Errorf("%s: got %v, want %s refused", in, err, want)
		}
	}
	var v body
	if err := DecodeStrict([]byte(`{"name":"a","meta":{"name":"a"},"items":[{"program":"p"},{"program":"p"}]}`), &v); err != nil {
		t.Errorf("the same name in different objects: %v", err)
	}
}
