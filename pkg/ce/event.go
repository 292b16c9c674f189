// Package ce is the CloudEvents 1.0 envelope of every message on the bus, in
// binary content mode over NATS: each attribute is a lower-case `ce-<name>`
// header and the JSON data is the body. Intake also accepts structured mode
// (`content-type: application/cloudevents+json`).
package ce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/partnerhub/onboarding/pkg/jsonx"
)

// SpecVersion is the only CloudEvents version we speak.
const SpecVersion = "1.0"

// TypePrefix is the reverse-DNS prefix of every event type we define.
const TypePrefix = "com.partnerhub."

// JSON is the data content type of every event we publish.
const JSON = "application/json"

// StructuredContentType marks a structured-mode CloudEvent.
const StructuredContentType = "application/cloudevents+json"

// MaxDataBytes bounds the data of an accepted event.
const MaxDataBytes = 64 << 10

// Header names (binary content mode, lower case as the NATS binding and the Go
// SDK expect: a canonicalised `Ce-Id` is not read by the SDK).
const (
	HeaderPrefix         = "ce-"
	HSpecVersion         = "ce-specversion"
	HID                  = "ce-id"
	HSource              = "ce-source"
	HType                = "ce-type"
	HSubject             = "ce-subject"
	HTime                = "ce-time"
	HDataContentType     = "ce-datacontenttype"
	HDataSchema          = "ce-dataschema"
	HPartitionKey        = "ce-partitionkey"
	HSequence            = "ce-sequence"
	HTraceParent         = "ce-traceparent"
	HCorrelationID       = "ce-correlationid"
	HCausationID         = "ce-causationid"
	HAuthType            = "ce-authtype"
	HAuthID              = "ce-authid"
	HDataClassification  = "ce-dataclassification"
	HContentType         = "content-type"
	extPartitionKey      = "partitionkey"
	extSequence          = "sequence"
	extTraceParent       = "traceparent"
	extCorrelationID     = "correlationid"
	extCausationID       = "causationid"
	extAuthType          = "authtype"
	extAuthID            = "authid"
	extDataClassfication = "dataclassification"
)

// SequenceWidth is the zero-padded width of the sequence extension, so that
// lexical order equals numeric order.
const SequenceWidth = 12

// Event is one CloudEvent with the attributes and extensions of our contract.
type Event struct {
	ID              string
	Source          string
	Type            string
	Subject         string
	Time            time.Time
	DataContentType string
	DataSchema      string

	PartitionKey       string
	Sequence           uint64
	TraceParent        string
	CorrelationID      string
	CausationID        string
	AuthType           string
	AuthID             string
	DataClassification string
	// Other extensions, by lower-case name.
	Extensions map[string]string
	// Publisher is the bus user that published the event when its subject
	// names one (an outside system's own intake subject), set by the
	// router from the subject, never from the event: what a directory
	// account bound to a bus user is checked against.
	Publisher string

	Data []byte
}

// NewID returns a fresh event id (UUIDv7: time-ordered).
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// FormatSequence renders a sequence number zero-padded.
func FormatSequence(n uint64) string { return fmt.Sprintf("%0*d", SequenceWidth, n) }

// Topic is the NATS subject of an event type: the type without TypePrefix,
// e.g. com.partnerhub.registration.application.submitted.v1 →
// registration.application.submitted.v1.
func Topic(eventType string) string { return strings.TrimPrefix(eventType, TypePrefix) }

// Headers returns the binary-mode headers of e.
func (e Event) Headers() map[string]string {
	h := map[string]string{
		HSpecVersion: SpecVersion,
		HID:          e.ID,
		HSource:      e.Source,
		HType:        e.Type,
	}
	set := func(k, v string) {
		if v != "" {
			h[k] = v
		}
	}
	set(HSubject, e.Subject)
	if !e.Time.IsZero() {
		h[HTime] = e.Time.UTC().Format(time.RFC3339Nano)
	}
	set(HDataContentType, e.DataContentType)
	set(HDataSchema, e.DataSchema)
	set(HPartitionKey, e.PartitionKey)
	if e.Sequence > 0 {
		h[HSequence] = FormatSequence(e.Sequence)
	}
	set(HTraceParent, e.TraceParent)
	set(HCorrelationID, e.CorrelationID)
	set(HCausationID, e.CausationID)
	set(HAuthType, e.AuthType)
	set(HAuthID, e.AuthID)
	set(HDataClassification, e.DataClassification)
	for k, v := range e.Extensions {
		set(HeaderPrefix+k, v)
	}
	return h
}

// DecodeError is why a message is not an acceptable CloudEvent. Code is
// stable and machine-readable; it becomes the dead-letter reason code.
type DecodeError struct {
	Code   string
	Detail string
}

func (e *DecodeError) Error() string { return e.Code + ": " + e.Detail }

func decodeErr(code, format string, args ...any) *DecodeError {
	return &DecodeError{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Decode error codes.
const (
	CodeMissingSpecVersion = "cloudevent.missing_specversion"
	CodeBadSpecVersion     = "cloudevent.unsupported_specversion"
	CodeMissingID          = "cloudevent.missing_id"
	CodeMissingSource      = "cloudevent.missing_source"
	CodeMissingType        = "cloudevent.missing_type"
	CodeBadTime            = "cloudevent.invalid_time"
	CodeBadSequence        = "cloudevent.invalid_sequence"
	CodeNotJSON            = "cloudevent.data_not_json"
	CodeBadContentType     = "cloudevent.unsupported_datacontenttype"
	CodeTooLarge           = "cloudevent.data_too_large"
	CodeBadStructured      = "cloudevent.malformed_structured"
	CodeBadAttribute       = "cloudevent.invalid_attribute"
	CodeUnknownType        = "cloudevent.unknown_type"
	CodeSchemaViolation    = "cloudevent.schema_violation"
	CodeNULCharacter       = "cloudevent.nul_character"
)

// Decode reads a CloudEvent from message headers and body: binary mode when a
// `ce-specversion` header is present (case-insensitively, to be lenient with
// canonicalising clients), structured mode when the content type says so.
// The data must be JSON. Every error is a *DecodeError.
func Decode(headers map[string]string, body []byte) (Event, error) {
	lower := make(map[string]string, len(headers))
	for k, v := range headers {
		lower[strings.ToLower(k)] = v
	}
	if _, ok := lower[HSpecVersion]; ok {
		return decodeBinary(lower, body)
	}
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(lower[HContentType], ";", 2)[0]))
	if ct == StructuredContentType {
		return decodeStructured(body)
	}
	if ct == "" && looksStructured(body) {
		return decodeStructured(body)
	}
	return Event{}, decodeErr(CodeMissingSpecVersion, "no ce-specversion header and not a structured-mode event")
}

func looksStructured(body []byte) bool {
	var probe struct {
		SpecVersion *string `json:"specversion"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.SpecVersion != nil
}

func decodeBinary(h map[string]string, body []byte) (Event, error) {
	e := Event{
		ID:                 h[HID],
		Source:             h[HSource],
		Type:               h[HType],
		Subject:            h[HSubject],
		DataContentType:    h[HDataContentType],
		DataSchema:         h[HDataSchema],
		PartitionKey:       h[HPartitionKey],
		TraceParent:        h[HTraceParent],
		CorrelationID:      h[HCorrelationID],
		CausationID:        h[HCausationID],
		AuthType:           h[HAuthType],
		AuthID:             h[HAuthID],
		DataClassification: h[HDataClassification],
		Data:               body,
	}
	if e.DataContentType == "" {
		e.DataContentType = h[HContentType]
	}
	if sv := h[HSpecVersion]; sv != SpecVersion {
		return Event{}, decodeErr(CodeBadSpecVersion, "specversion %q is not supported (want %s)", sv, SpecVersion)
	}
	if t := h[HTime]; t != "" {
		ts, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return Event{}, decodeErr(CodeBadTime, "time %q is not RFC 3339", t)
		}
		e.Time = ts
	}
	if s := h[HSequence]; s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Event{}, decodeErr(CodeBadSequence, "sequence %q is not a decimal number", s)
		}
		e.Sequence = n
	}
	for k, v := range h {
		if !strings.HasPrefix(k, HeaderPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, HeaderPrefix)
		if isKnownAttr(name) || name == "" {
			continue
		}
		if e.Extensions == nil {
			e.Extensions = map[string]string{}
		}
		e.Extensions[name] = v
	}
	return e, e.validate()
}

func isKnownAttr(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema",
		extPartitionKey, extSequence, extTraceParent, extCorrelationID, extCausationID, extAuthType, extAuthID,
		extDataClassfication:
		return true
	}
	return false
}

func decodeStructured(body []byte) (Event, error) {
	if len(body) > MaxDataBytes*2 {
		return Event{}, decodeErr(CodeTooLarge, "structured event is %d bytes, limit %d", len(body), MaxDataBytes*2)
	}
	if !utf8.Valid(body) {
		return Event{}, decodeErr(CodeBadStructured, "structured event is not valid UTF-8")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Event{}, decodeErr(CodeBadStructured, "structured event is not a JSON object: %v", err)
	}
	h := map[string]string{}
	var data []byte
	for k, v := range raw {
		switch k {
		case "data":
			data = v
		case "data_base64":
			return Event{}, decodeErr(CodeNotJSON, "data_base64 is not accepted: data must be JSON")
		default:
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				// Extensions may be numbers or booleans in JSON format.
				var n json.Number
				var b bool
				switch {
				case json.Unmarshal(v, &n) == nil:
					s = n.String()
				case json.Unmarshal(v, &b) == nil:
					s = strconv.FormatBool(b)
				default:
					return Event{}, decodeErr(CodeBadAttribute, "attribute %q must be a string", k)
				}
			}
			h[HeaderPrefix+strings.ToLower(k)] = s
		}
	}
	if _, ok := h[HSpecVersion]; !ok {
		return Event{}, decodeErr(CodeMissingSpecVersion, "structured event has no specversion")
	}
	if h[HDataContentType] == "" && data != nil {
		h[HDataContentType] = JSON
	}
	return decodeBinary(h, data)
}

func (e Event) validate() error {
	switch {
	case e.ID == "":
		return decodeErr(CodeMissingID, "id is required")
	case e.Source == "":
		return decodeErr(CodeMissingSource, "source is required")
	case e.Type == "":
		return decodeErr(CodeMissingType, "type is required")
	}
	for name, v := range map[string]string{"id": e.ID, "source": e.Source, "type": e.Type, "subject": e.Subject} {
		if len(v) > 512 || !storable(v) {
			return decodeErr(CodeBadAttribute, "attribute %s is longer than 512 bytes, not UTF-8 or holds U+0000", name)
		}
	}
	// Every other attribute and extension is handed on (the timeline's
	// feed and webhooks, dead letters) and stored: UTF-8 without U+0000
	// (Postgres stores no U+0000 in text).
	for _, v := range []string{e.DataContentType, e.DataSchema, e.PartitionKey, e.TraceParent, e.CorrelationID,
		e.CausationID, e.AuthType, e.AuthID, e.DataClassification} {
		if !storable(v) {
			return decodeErr(CodeBadAttribute, "an attribute is not UTF-8 or holds U+0000")
		}
	}
	for name, v := range e.Extensions {
		if !storable(name) || !storable(v) {
			return decodeErr(CodeBadAttribute, "extension %q is not UTF-8 or holds U+0000", name)
		}
	}
	if len(e.Data) > MaxDataBytes {
		return decodeErr(CodeTooLarge, "data is %d bytes, limit %d", len(e.Data), MaxDataBytes)
	}
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(e.DataContentType, ";", 2)[0]))
	if ct != "" && ct != JSON && !strings.HasSuffix(ct, "+json") {
		return decodeErr(CodeBadContentType, "datacontenttype %q is not JSON", e.DataContentType)
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return decodeErr(CodeNotJSON, "data is not valid JSON")
	}
	if jsonx.HasNUL(e.Data) {
		return decodeErr(CodeNULCharacter, `data holds the character U+0000 (\u0000), which no consumer can store`)
	}
	return nil
}

// DecodeData unmarshals e's JSON data into v, refusing unknown fields when
// strict is true. Errors are *DecodeError with CodeSchemaViolation.
func (e Event) DecodeData(v any, strict bool) error {
	if len(e.Data) == 0 {
		return decodeErr(CodeSchemaViolation, "data is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if path, ok := jsonx.UnknownFieldPath(e.Data, v); ok && strict && strings.HasPrefix(err.Error(), "json: unknown field ") {
			return decodeErr(CodeSchemaViolation, "data does not match %s: unknown member %s", e.Type, path)
		}
		var te *json.UnmarshalTypeError
		if m, ok := jsonx.FindMismatch(e.Data, v); ok && errors.As(err, &te) {
			if m.Path == "" {
				return decodeErr(CodeSchemaViolation, "data does not match %s: it %s", e.Type, m.Message())
			}
			return decodeErr(CodeSchemaViolation, "data does not match %s: %s %s", e.Type, m.Path, m.Message())
		}
		return decodeErr(CodeSchemaViolation, "data does not match %s: %v", e.Type, err)
	}
	return nil
}

// storable: UTF-8 without U+0000, what Postgres text holds.
func storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
