package domain

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/pkg/page"
)

// FeedPosition is a place in the feed, the order in which the timeline
// recorded events: the recording transaction's id, then the order within
// it. A transaction's events are served only once every transaction with a
// lower id has ended, so a reader that follows the cursor never misses an
// event that commits late (see the feed query).
type FeedPosition struct {
	Tx  int64 `json:"x"`
	Pos int64 `json:"p"`
}

// Cursor renders p as an opaque token (base64url of JSON).
func (p FeedPosition) Cursor() string { return page.Encode(p) }

// ParseFeedCursor reads a token made by Cursor.
func ParseFeedCursor(s string) (FeedPosition, error) {
	var p FeedPosition
	if !page.Decode(s, &p) {
		return FeedPosition{}, fmt.Errorf("%w: not a position", ErrInvalidCursor)
	}
	if p.Tx < 0 || p.Pos < 0 {
		return FeedPosition{}, fmt.Errorf("%w: negative position", ErrInvalidCursor)
	}
	return p, nil
}

// TypePrefix is what every event type of this system starts with.
const TypePrefix = "com.partnerhub."

// TypeApplicationSubmitted is registration's answer to a registration: the
// event that names who registered the partner (its submitted_by).
const TypeApplicationSubmitted = TypePrefix + "registration.application.submitted.v1"

// Registrant is who registered a partner (an upstream system's subject).
type Registrant struct {
	PartnerID string
	Principal string
}

// RegistrantOf names the principal that registered the partner e is about,
// when e is the registration itself (zero otherwise): an upstream system
// sees, in the feed and through its webhooks, the partners it registered.
func RegistrantOf(e Event) Registrant {
	if e.Type != TypeApplicationSubmitted || !IsPartnerID(e.Subject) {
		return Registrant{}
	}
	var d struct {
		SubmittedBy string `json:"submitted_by"`
	}
	if json.Unmarshal(e.Data, &d) == nil && d.SubmittedBy != "" {
		return Registrant{PartnerID: e.Subject, Principal: d.SubmittedBy}
	}
	if e.AuthID != "" {
		return Registrant{PartnerID: e.Subject, Principal: e.AuthID}
	}
	return Registrant{}
}

// StructuredJSON is e as a CloudEvent in structured JSON mode
// (application/cloudevents+json): what a webhook delivers and the feed
// lists. Extensions are strings, the sequence zero-padded as on the bus.
func (e Event) StructuredJSON() ([]byte, error) {
	m := map[string]any{"specversion": "1.0", "id": e.ID, "source": e.Source, "type": e.Type}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range e.Extensions {
		set(k, v)
	}
	set("subject", e.Subject)
	if !e.Time.IsZero() {
		m["time"] = e.Time.UTC().Format(time.RFC3339Nano)
	}
	set("datacontenttype", e.DataContentType)
	set("dataschema", e.DataSchema)
	set("partitionkey", e.PartitionKey)
	if e.Sequence > 0 {
		m["sequence"] = fmt.Sprintf("%0*d", 12, e.Sequence)
	}
	set("traceparent", e.TraceParent)
	set("correlationid", e.CorrelationID)
	set("causationid", e.CausationID)
	set("authtype", e.AuthType)
	set("authid", e.AuthID)
	set("dataclassification", e.DataClassification)
	if len(e.Data) > 0 {
		if e.DataContentType == "" {
			m["datacontenttype"] = "application/json"
		}
		m["data"] = json.RawMessage(e.Data)
	}
	return json.Marshal(m)
}
