package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/jsonx"
	"github.com/partnerhub/onboarding/pkg/normalize"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// Request error codes (each maps to its own status, see statusByCode).
const (
	CodeUnsupportedMediaType = "request.unsupported_media_type"
	CodeTooLarge             = "request.body_too_large"
	CodeInvalidUTF8          = "request.invalid_utf8"
	CodeMalformedJSON        = "request.malformed_json"
	CodeUnknownField         = "request.unknown_field"
	CodeWrongType            = "request.wrong_type"
	CodeEmptyBody            = "request.empty_body"
	CodeNULCharacter         = "request.nul_character"
	// A member name given twice in one object (RFC 7493).
	CodeDuplicateMember = "request.duplicate_member"
	// A body in a content coding (gzip, br, …): only identity is read.
	CodeUnsupportedEncoding = "request.unsupported_content_encoding"
)

var statusByCode = map[string]int{
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeUnsupportedEncoding:  http.StatusUnsupportedMediaType,
	CodeTooLarge:             http.StatusRequestEntityTooLarge,
	CodeInvalidUTF8:          http.StatusBadRequest,
	CodeMalformedJSON:        http.StatusBadRequest,
	CodeUnknownField:         http.StatusBadRequest,
	CodeWrongType:            http.StatusBadRequest,
	CodeEmptyBody:            http.StatusBadRequest,
	CodeNULCharacter:         http.StatusBadRequest,
	CodeDuplicateMember:      http.StatusBadRequest,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
}

// ReadJSONBody checks the media type, content coding and size of r's body,
// that it is UTF-8 without U+0000, and returns it.
func ReadJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, apperr.Invalid(CodeUnsupportedMediaType, "the body must be application/json")
	}
	if ce := strings.TrimSpace(r.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		// Read as it is, a compressed body was refused as text that is not
		// UTF-8, and one merely labelled so was taken: say what is wrong
		// (RFC 9110 15.5.16: 415 with Accept-Encoding).
		w.Header().Set("Accept-Encoding", "identity")
		return nil, apperr.Invalid(CodeUnsupportedEncoding, fmt.Sprintf("the body must not be encoded (Content-Encoding %q): send it as it is", normalize.Clip(ce, 64)))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apperr.Invalid(CodeTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBody))
		}
		return nil, apperr.Invalid(CodeMalformedJSON, "the body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apperr.Invalid(CodeEmptyBody, "the body is empty")
	}
	if !utf8.Valid(body) {
		return nil, apperr.Invalid(CodeInvalidUTF8, "the body is not valid UTF-8")
	}
	if jsonx.HasNUL(body) {
		return nil, apperr.Invalid(CodeNULCharacter, `the body holds the character U+0000 (\u0000), which no field accepts`)
	}
	return body, nil
}

// DecodeStrict unmarshals body into v, refusing unknown fields, trailing
// data, wrong types and a member given twice with precise codes naming the
// field.
func DecodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, body, v)
	}
	if path, dup := jsonx.DuplicateMember(body); dup {
		return apperr.Invalid(CodeDuplicateMember, fmt.Sprintf("member %q is given more than once", path),
			apperr.FieldError{Field: path, Code: CodeDuplicateMember, Message: "is given more than once in its object; give it once"})
	}
	if dec.More() {
		return apperr.Invalid(CodeMalformedJSON, "the body has data after the JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return apperr.Invalid(CodeMalformedJSON, "the body has data after the JSON value")
	}
	return nil
}

func decodeError(err error, body []byte, v any) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return apperr.Invalid(CodeMalformedJSON, fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	case errors.As(err, &te):
		m, ok := jsonx.FindMismatch(body, v)
		if !ok { // not found again: what encoding/json said, in JSON's words
			m = jsonx.Mismatch{Path: te.Field, Want: jsonx.Kind(te.Type), Got: "a JSON " + te.Value}
		}
		if m.Path == "" {
			return apperr.Invalid(CodeWrongType, "the body "+m.Message())
		}
		return apperr.Invalid(CodeWrongType, fmt.Sprintf("field %q %s", m.Path, m.Message()),
			apperr.FieldError{Field: m.Path, Code: CodeWrongType, Message: m.Message()})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if path, ok := jsonx.UnknownFieldPath(body, v); ok {
			field = path
		}
		if field == "" {
			field = `""`
		}
		return apperr.Invalid(CodeUnknownField, fmt.Sprintf("unknown field %q", field),
			apperr.FieldError{Field: field, Code: CodeUnknownField, Message: "this field is not part of the API"})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.Invalid(CodeMalformedJSON, "the JSON is truncated")
	default:
		return apperr.Invalid(CodeMalformedJSON, "malformed JSON: "+err.Error())
	}
}

// DecodeJSON is ReadJSONBody followed by DecodeStrict.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	body, err := ReadJSONBody(w, r)
	if err != nil {
		return nil, err
	}
	return body, DecodeStrict(body, v)
}
