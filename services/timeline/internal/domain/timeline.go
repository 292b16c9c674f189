// Package domain holds the timeline's pure rules: which partners an event
// concerns, the order of a timeline and its opaque cursor, and the sequence
// gaps that tell an operator an event is missing.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/events"
	"github.com/partnerhub/onboarding/pkg/page"
)

// ErrInvalidCursor is returned for a cursor this service did not issue.
var ErrInvalidCursor = errors.New("invalid timeline cursor")

// partnerID is a global partner ID as registration issues it ("PG-7K3M-9QXD-2TW"),
// kept lenient on the body so that IDs of other environments still index.
// It only picks the partners an event is about; a partner ID a caller sends
// is read by pkg/ids, as every service reads it.
var partnerID = regexp.MustCompile(`^PG-[0-9A-Z][0-9A-Z-]{0,62}$`)

// IsPartnerID reports whether s is a global partner ID.
func IsPartnerID(s string) bool { return partnerID.MatchString(s) }

// Event is one recorded CloudEvent, as the timeline keeps it.
type Event struct {
	ID            string
	Source        string
	Type          string
	Subject       string
	Time          time.Time
	PartitionKey  string
	Sequence      uint64 // 0: the producer gave none
	CorrelationID string
	CausationID   string
	AuthType      string
	AuthID        string
	// The other CloudEvents attributes, kept so that the feed and webhooks
	// hand on the event as its producer wrote it.
	DataContentType    string
	DataSchema         string
	TraceParent        string
	DataClassification string
	Extensions         map[string]string
	// Data is the JSON data (nil when the event had none).
	Data       json.RawMessage
	RecordedAt time.Time
	// Feed is where the event is in the feed (zero until recorded).
	Feed FeedPosition
	// DeadLetter is set when this entry is not the event itself but a
	// consumer's refusal of it (Time is then when it was dead-lettered).
	DeadLetter *DeadLetter
}

// DeadLetter is why a consuming service gave up on an event (the dlq-*
// headers of its copy on the DEADLETTER stream).
type DeadLetter struct {
	Code    string
	Reason  string
	Service string // the consumer that refused the event
	Handler string // its durable handler
	// Delivered is how many times the consumer received the event (before
	// the last time it was dead-lettered).
	Delivered int
	// Times is how many times this handler dead-lettered the event: more
	// than one when a replay was refused again; LastAt is when the last of
	// them was (zero while there is one), and Code, Reason and Delivered are
	// the last one's.
	Times  int
	LastAt time.Time
}

// Key tells apart the dead letters of one event: one per consumer handler.
func (d *DeadLetter) Key() string {
	if d == nil {
		return ""
	}
	return d.Service + "|" + d.Handler
}

// partnerFields are the payload members that name a partner an event
// concerns beside its subject: both sides of a relationship, and the
// existing partner of a duplicate claim. Any member named *_partner_id
// counts too, so that a new producer field is indexed without a change here.
var partnerFields = []string{"partner_id", "provider_id", "reseller_id", "existing_partner_id"}

// PartnersOf lists, sorted and without duplicates, every partner an event
// concerns: its subject when that is a partner ID, and the partner IDs its
// data names at the top level. An event about no partner (an agreement
// version, a rejected intake) concerns none: it is stored but on no
// partner's timeline.
func PartnersOf(subject string, data []byte) []string {
	var out []string
	if IsPartnerID(subject) {
		out = append(out, subject)
	}
	var members map[string]json.RawMessage
	if len(data) > 0 && json.Unmarshal(data, &members) == nil {
		for name, raw := range members {
			if !slices.Contains(partnerFields, name) && !strings.HasSuffix(name, "_partner_id") {
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) == nil && IsPartnerID(s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RestrictedClassification is the dataclassification of events whose data
// carries sealed secrets (the verification mail request).
const RestrictedClassification = "restricted"

// Redacted replaces a restricted event's top-level sealed_* members: only
// their recipient can open them, and a timeline reader needs only the fact
// that a secret travelled. Other data is returned unchanged.
func Redacted(classification string, data []byte) []byte {
	if classification != RestrictedClassification {
		return data
	}
	return events.ReplaceMembers(data, func(name string, _ json.RawMessage) (json.RawMessage, bool) {
		return json.RawMessage(`"` + events.Redacted + `"`), strings.HasPrefix(name, "sealed_")
	})
}

// Position is a place in a timeline. Timelines are ordered by event time
// (for a dead letter: when it was dead-lettered), ties broken by source,
// then sequence (sequences are per producer), then id, then dead-letter key
// (empty for the event itself).
type Position struct {
	Time       time.Time `json:"t"`
	Source     string    `json:"s"`
	Sequence   uint64    `json:"q"`
	ID         string    `json:"i"`
	DeadLetter string    `json:"d,omitempty"`
}

// PositionOf is the position of e.
func PositionOf(e Event) Position {
	return Position{Time: e.Time, Source: e.Source, Sequence: e.Sequence, ID: e.ID, DeadLetter: e.DeadLetter.Key()}
}

// Cursor renders p as an opaque token (base64url of JSON).
func (p Position) Cursor() string { return page.Encode(p) }

// ParseCursor reads a token made by Cursor.
func ParseCursor(s string) (Position, error) {
	var p Position
	if !page.Decode(s, &p) {
		return Position{}, fmt.Errorf("%w: not a position", ErrInvalidCursor)
	}
	if p.Time.IsZero() || p.Source == "" || p.ID == "" {
		return Position{}, fmt.Errorf("%w: incomplete position", ErrInvalidCursor)
	}
	return p, nil
}

// MaxGaps bounds the gaps listed per source: a partner whose early events
// aged out of the streams would otherwise list thousands.
const MaxGaps = 100

// Gaps lists the sequence numbers missing below the highest one in seqs
// (any order, duplicates allowed; 0 means "no sequence" and is ignored), at
// most max of them, lowest first; truncated says more are missing.
func Gaps(seqs []uint64, max int) (gaps []uint64, truncated bool) { return GapsAfter(0, seqs, max) }

// GapsAfter is Gaps for a partition whose sequences up to pruned were
// deleted by retention: they are not missing.
func GapsAfter(pruned uint64, seqs []uint64, max int) (gaps []uint64, truncated bool) {
	sorted := slices.Clone(seqs)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	next := pruned + 1
	for _, s := range sorted {
		if s <= pruned {
			continue
		}
		for ; next < s; next++ {
			if len(gaps) == max {
				return gaps, true
			}
			gaps = append(gaps, next)
		}
		next = s + 1
	}
	return gaps, false
}

// SourceSummary is what one producer told about one partner so far.
type SourceSummary struct {
	Source string
	// Events counts the events of this source on the partner's timeline
	// (including events about it in another partner's partition).
	Events int
	// LastSequence is the highest sequence of the partner's own partition
	// at this source (0: none).
	LastSequence  uint64
	Gaps          []uint64
	GapsTruncated bool
}
