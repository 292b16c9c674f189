// Package jsonx holds what encoding/json leaves out and both edges need: the
// path of an unknown member, a value of the wrong type told in JSON's words,
// a member given twice (HTTP bodies in httpx, event data in ce).
package jsonx

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// UnknownFieldPath finds, in document order, the first member of body that
// v's type has no field for, and returns its full path ("company.address.
// county", "programs[1].support.fax"): encoding/json names only the member
// itself, which leaves a client guessing which object it is in.
func UnknownFieldPath(body []byte, v any) (string, bool) {
	var found string
	ok := walkDocument(body, v, func(path string, _ reflect.Type, _ json.Token) bool { return false },
		func(path string) bool { found = path; return true })
	return found, ok
}

// Mismatch is a value of a JSON document that does not decode into the Go
// type it is meant for, told in JSON's words: encoding/json names the Go
// type ("[]domain.ProgramInput") and a path without array indices
// ("programs.program").
type Mismatch struct {
	Path string // "programs[0].program"; "" for the document itself
	Want string // "a JSON array", "an integer", …
	Got  string // "a JSON object", "1.5", "true", …
}

// Message is "must be <want>, not <got>".
func (m Mismatch) Message() string { return "must be " + m.Want + ", not " + m.Got }

// FindMismatch finds, in document order, the first value of body that does
// not decode into its place in v's type, as encoding/json's
// *json.UnmarshalTypeError reports it (which keeps the first one too).
// Values held by types that decode themselves (json.Unmarshaler) are not
// judged.
func FindMismatch(body []byte, v any) (Mismatch, bool) {
	var found Mismatch
	ok := walkDocument(body, v, func(path string, t reflect.Type, tok json.Token) bool {
		got, fits := fits(t, tok)
		if !fits {
			found = Mismatch{Path: path, Want: Kind(t), Got: got}
		}
		return !fits
	}, func(string) bool { return false })
	return found, ok
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func decodesItself(t reflect.Type, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// fits reports whether the value starting with tok decodes into t, and
// names the value in JSON's words.
func fits(t reflect.Type, tok json.Token) (string, bool) {
	text := decodesItself(t, textUnmarshaler)
	switch v := tok.(type) {
	case nil:
		return "null", true
	case json.Delim:
		if v == '{' {
			return "a JSON object", !text && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map)
		}
		return "a JSON array", !text && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array)
	case string:
		return "a JSON string", text || t.Kind() == reflect.String ||
			t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	case bool:
		return strconv.FormatBool(v), !text && t.Kind() == reflect.Bool
	case json.Number:
		got := clipNumber(v.String())
		if text {
			return got, false
		}
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			_, err := strconv.ParseInt(v.String(), 10, t.Bits())
			return got, err == nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			_, err := strconv.ParseUint(v.String(), 10, t.Bits())
			return got, err == nil
		case reflect.Float32, reflect.Float64:
			_, err := strconv.ParseFloat(v.String(), t.Bits())
			return got, err == nil
		}
		return got, false
	}
	return "", true
}

// clipNumber shortens a number's text for a message.
func clipNumber(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Kind names, in JSON's words, what a value decoding into t must be.
func Kind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if decodesItself(t, textUnmarshaler) {
		return "a JSON string"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return "a JSON string (base64)" // []byte; a [n]byte is an array of numbers
		}
		return "a JSON array"
	case reflect.String:
		return "a JSON string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer" + intRange(t)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer" + intRange(t)
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a JSON value"
}

// intRange names the bounds of a sized integer type; none for 64 bits, which
// no request field comes near.
func intRange(t reflect.Type) string {
	if t.Bits() >= 64 {
		return ""
	}
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr {
		return " up to " + strconv.FormatUint(1<<t.Bits()-1, 10)
	}
	return " from " + strconv.FormatInt(-1<<(t.Bits()-1), 10) + " to " + strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
}

func joinPath(parent, member string) string {
	if member == "" {
		member = `""` // a member with an empty name still needs a visible path
	}
	if parent == "" {
		return member
	}
	return parent + "." + member
}

// walkDocument reads body as the JSON document v's type decodes, calling
// value with the path, the Go type and the first token of every value that
// type has a place for (not for values of types that decode themselves, nor
// below an interface), and unknown with the path of every member a struct
// has no field for. It stops at the first call that returns true, and
// reports whether one did.
func walkDocument(body []byte, v any, value func(path string, t reflect.Type, tok json.Token) bool, unknown func(path string) bool) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := walker{dec: dec, value: value, unknown: unknown}
	found, err := w.walk(reflect.TypeOf(v), "")
	return found && err == nil
}

type walker struct {
	dec     *json.Decoder
	value   func(path string, t reflect.Type, tok json.Token) bool
	unknown func(path string) bool
}

// walk reads one JSON value from the decoder, which is to be decoded into
// t (nil: nowhere, the value is skipped).
func (w walker) walk(t reflect.Type, path string) (bool, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Kind() == reflect.Interface || decodesItself(t, jsonUnmarshaler)) {
		t = nil
	}
	tok, err := w.dec.Token()
	if err != nil {
		return false, err
	}
	if t != nil && w.value(path, t, tok) {
		return true, nil
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return false, nil // a scalar: nothing below it
	}
	if t != nil {
		if _, fit := fits(t, tok); !fit {
			t = nil // encoding/json skips what does not fit
		}
	}
	switch d {
	case '{':
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return false, err
			}
			key, _ := kt.(string)
			var ft reflect.Type
			switch {
			case t == nil:
			case t.Kind() == reflect.Struct:
				f, ok := structField(t, key)
				if !ok && w.unknown(joinPath(path, key)) {
					return true, nil
				}
				ft = f
			case t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if found, err := w.walk(ft, joinPath(path, key)); found || err != nil {
				return found, err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil {
			et = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if t != nil && t.Kind() == reflect.Array && i == t.Len() {
				et = nil // encoding/json drops the elements past a Go array's length unread
			}
			if found, err := w.walk(et, path+"["+strconv.Itoa(i)+"]"); found || err != nil {
				return found, err
			}
		}
	}
	_, err = w.dec.Token() // the closing delimiter
	return false, err
}

// structField finds the field of struct type t that the JSON member key
// decodes into, as encoding/json does: by tag or field name, exact match
// first, then case-insensitively, through embedded structs.
func structField(t reflect.Type, key string) (reflect.Type, bool) {
	var fold reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ft, ok := structField(et, key); ok {
					return ft, true
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = f.Type
		}
	}
	return fold, fold != nil
}

// DuplicateMember finds, in document order, the first member of an object
// in body whose name an earlier member of the same object has, and returns
// its path ("company.phone", "programs[1].program"). encoding/json keeps the
// last of them without a word, while another parser on the way (a gateway,
// a validator, the client's own library) may have read the first: one body,
// two meanings. RFC 7493 (I-JSON) forbids duplicate names.
func DuplicateMember(body []byte) (string, bool) {
	if !hasDuplicateMember(body) {
		return "", false // the common case, scanned without json.Decoder's tokens (about 20 times faster)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path, found, err := duplicateIn(dec, "")
	return path, found && err == nil
}

// hasDuplicateMember scans b, a JSON text, for an object with a member name
// given twice (names compared as the decoder reads them: "a" and "\u0061"
// are one name).
func hasDuplicateMember(b []byte) bool {
	type object struct {
		names []string
		set   map[string]struct{} // once an object has many members
	}
	var stack []*object // nil for an array
	expectName := false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, &object{})
			expectName = true
		case '[':
			stack = append(stack, nil)
			expectName = false
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectName = false
		case ',':
			expectName = len(stack) > 0 && stack[len(stack)-1] != nil
		case '"':
			start := i + 1
			escaped := false
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					escaped = true
					i++
				}
			}
			if !expectName || len(stack) == 0 || stack[len(stack)-1] == nil {
				continue
			}
			expectName = false
			name := string(b[start:min(i, len(b))])
			if escaped || !utf8.ValidString(name) { // as the decoder reads it: escapes undone, bad bytes U+FFFD
				if err := json.Unmarshal(b[start-1:min(i+1, len(b))], &name); err != nil {
					return false // not JSON: the decoder says so
				}
			}
			o := stack[len(stack)-1]
			if o.set != nil {
				if _, dup := o.set[name]; dup {
					return true
				}
				o.set[name] = struct{}{}
				continue
			}
			for _, n := range o.names {
				if n == name {
					return true
				}
			}
			o.names = append(o.names, name)
			if len(o.names) > 16 {
				o.set = make(map[string]struct{}, 2*len(o.names))
				for _, n := range o.names {
					o.set[n] = struct{}{}
				}
			}
		}
	}
	return false
}

func duplicateIn(dec *json.Decoder, path string) (string, bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", false, nil
	}
	switch d {
	case '{':
		var seen map[string]bool
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", false, err
			}
			key, _ := kt.(string)
			if seen[key] {
				return joinPath(path, key), true, nil
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[key] = true
			if p, found, err := duplicateIn(dec, joinPath(path, key)); found || err != nil {
				return p, found, err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if p, found, err := duplicateIn(dec, path+"["+strconv.Itoa(i)+"]"); found || err != nil {
				return p, found, err
			}
		}
	}
	_, err = dec.Token()
	return "", false, err
}

// HasNUL reports whether the JSON text b holds the character U+0000 (the
// escape \u0000 in a string; JSON allows no raw control character there).
// Postgres stores no U+0000 in text or jsonb, so a value holding one could
// be neither kept nor handed on: both edges refuse it (httpx with a 400,
// ce with a dead letter) instead of failing at the first write.
func HasNUL(b []byte) bool {
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			return true
		}
		// Skip the escaped character (a backslash escapes the next one,
		// so "\\u0000" is a backslash and the text u0000).
		next := bytes.IndexByte(b[i+2:], '\\')
		if next < 0 {
			return false
		}
		i += 2 + next
	}
	return false
}
