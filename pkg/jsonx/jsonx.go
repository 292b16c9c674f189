// Package jsonx holds what encoding/json leaves out and both edges need: the
// path of an unknown member (HTTP bodies in httpx, event data in ce).
package jsonx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// UnknownFieldPath finds, in document order, the first member of body that
// v's type has no field for, and returns its full path ("company.address.
// county", "programs[1].support.fax"): encoding/json names only the member
// itself, which leaves a client guessing which object it is in.
func UnknownFieldPath(body []byte, v any) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path, found, err := walkUnknown(dec, reflect.TypeOf(v), "")
	return path, found && err == nil
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

// walkUnknown reads one JSON value from dec, which is to be decoded into t.
func walkUnknown(dec *json.Decoder, t reflect.Type, path string) (string, bool, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", false, nil // a scalar: nothing below it
	}
	switch d {
	case '{':
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", false, err
			}
			key, _ := kt.(string)
			var ft reflect.Type
			switch {
			case t == nil:
			case t.Kind() == reflect.Struct:
				f, ok := structField(t, key)
				if !ok {
					return joinPath(path, key), true, nil
				}
				ft = f
			case t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if ft == nil || ft.Kind() == reflect.Interface {
				if err := skipValue(dec); err != nil {
					return "", false, err
				}
				continue
			}
			if p, found, err := walkUnknown(dec, ft, joinPath(path, key)); found || err != nil {
				return p, found, err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if et == nil || et.Kind() == reflect.Interface {
				if err := skipValue(dec); err != nil {
					return "", false, err
				}
				continue
			}
			if p, found, err := walkUnknown(dec, et, path+"["+strconv.Itoa(i)+"]"); found || err != nil {
				return p, found, err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return "", false, err
}

func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
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
