package domain

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/partnerhub/onboarding/pkg/egress"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/pkg/page"
)

// Webhook endpoint scopes: which events an endpoint is sent.
const (
	// ScopeAll: every event (operators' endpoints).
	ScopeAll = "all"
	// ScopeRegistered: the events about the partners its consumer
	// registered, and the events its consumer caused (an upstream system's
	// endpoints: its answers, rejections included).
	ScopeRegistered = "registered"
)

// Endpoint statuses.
const (
	EndpointEnabled  = "enabled"
	EndpointDisabled = "disabled"
)

// Why an endpoint was disabled.
const (
	DisabledPersistentFailure = "persistent_failure"
	DisabledByCaller          = "disabled_by_caller"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	DeliveryCancelled = "cancelled"
)

// Limits of an endpoint.
const (
	MaxEndpointURL   = 2048
	MaxEventTypes    = 50
	MaxDescription   = 500
	SecretBytes      = 32 // Standard Webhooks: 24 to 64
	SecretPrefix     = "whsec_"
	MaxRotateOverlap = 7 * 24 * time.Hour
)

// Errors of the endpoint rules (the app turns them into coded errors).
var (
	ErrEndpointURL   = errors.New("invalid webhook URL")
	ErrEventTypes    = errors.New("invalid event type filter")
	ErrScope         = errors.New("invalid webhook scope")
	ErrDescription   = errors.New("invalid description")
	ErrRotateOverlap = errors.New("invalid rotation overlap")
)

// Endpoint is a consumer's webhook endpoint.
type Endpoint struct {
	ID          string
	Consumer    string // the principal (subject) it delivers for
	Scope       string
	URL         string
	Description string
	// EventTypes are full type prefixes ("com.partnerhub.registration."); a
	// type matches when it starts with one. Empty: every type.
	EventTypes     []string
	Status         string
	DisabledReason string
	DisabledAt     time.Time
	// FailingSince is the first failed attempt since the last success.
	FailingSince time.Time
	Secrets      []SecretInfo
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SecretInfo describes one signing secret without revealing it.
type SecretInfo struct {
	ID        string
	CreatedAt time.Time
	// ExpiresAt is when a rotated-out secret stops signing (zero: current).
	ExpiresAt time.Time
}

// NormalizeEventTypes checks a webhook endpoint's type filter with
// NormalizeEventType, entry by entry, and returns it sorted, without
// duplicates.
func NormalizeEventTypes(types []string, domains []string) ([]string, error) {
	if len(types) > MaxEventTypes {
		return nil, fmt.Errorf("%w: at most %d entries", ErrEventTypes, MaxEventTypes)
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		t, err := NormalizeEventType(t, domains)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NormalizeEventType is the one reading of an event type filter, for
// webhook endpoints, the feed and a partner's timeline alike: a type or
// type prefix in full form ("registration." and
// "com.partnerhub.registration." are the same prefix; a trailing "*" is
// dropped: "registration.*"). Its first label must be one of domains (the
// producers whose events the timeline holds: registration, email, …) or,
// left unfinished ("regis"), the start of one: a filter no event can match
// ("registraton.") is refused rather than read as "none".
func NormalizeEventType(t string, domains []string) (string, error) {
	in := t
	t = strings.TrimSuffix(strings.TrimSpace(t), "*")
	if t == "" || len(t) > 256 || strings.IndexFunc(t, func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLower(r) || unicode.IsDigit(r) || r == '.' || r == '_')
	}) >= 0 {
		return "", fmt.Errorf("%w: %q is not an event type or type prefix such as registration. or com.partnerhub.registration.partner.activated.v1", ErrEventTypes, in)
	}
	if !strings.HasPrefix(t, TypePrefix) {
		t = TypePrefix + t
	}
	label, _, finished := strings.Cut(strings.TrimPrefix(t, TypePrefix), ".")
	if !slices.ContainsFunc(domains, func(d string) bool { return d == label || !finished && strings.HasPrefix(d, label) }) {
		return "", fmt.Errorf("%w: %q matches no event (types start with %s.)", ErrEventTypes, in, strings.Join(domains, "., "))
	}
	return t, nil
}

// MatchesType reports whether eventType passes the filter types (full
// prefixes; none: every type).
func MatchesType(types []string, eventType string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if strings.HasPrefix(eventType, t) {
			return true
		}
	}
	return false
}

// CheckEndpointURL checks where deliveries go: an absolute https URL
// without credentials (http and private, loopback or link-local addresses
// only when allowInsecure: development and tests), at most 2048 bytes.
// The address a name resolves to is checked again when sending.
func CheckEndpointURL(raw string, allowInsecure bool) (string, error) {
	if len(raw) > MaxEndpointURL {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrEndpointURL, MaxEndpointURL)
	}
	if p, bad := normalize.CheckText(raw); bad { // net/url takes them in a path: the URL would not read as it goes
		return "", fmt.Errorf("%w: a control, invisible or bidirectional-control character (%s)", ErrEndpointURL, p)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: not an absolute URL", ErrEndpointURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure:
	default:
		return "", fmt.Errorf("%w: the scheme must be https", ErrEndpointURL)
	}
	if u.User != nil {
		return "", fmt.Errorf("%w: credentials in the URL are not accepted (sign-in is the signature's job)", ErrEndpointURL)
	}
	if u.Fragment != "" {
		return "", fmt.Errorf("%w: a fragment is never sent", ErrEndpointURL)
	}
	if !normalize.URLPort(u.Port()) {
		return "", fmt.Errorf("%w: port %s is not 1-65535", ErrEndpointURL, u.Port())
	}
	ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]"))
	switch {
	case err == nil && !allowInsecure && !egress.PublicAddr(ip):
		return "", fmt.Errorf("%w: %s is not a public address", ErrEndpointURL, ip)
	case err != nil && !normalize.URLHost(u.Hostname()):
		return "", fmt.Errorf("%w: the host is neither an IP address nor a DNS name (an internationalised name is given in its xn-- form)", ErrEndpointURL)
	}
	return u.String(), nil
}

// DisplayURL is an endpoint URL fit for logs and events: scheme, host and
// path, never the query (integrators put tokens there).
func DisplayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// NewSecret is a fresh signing secret in the Standard Webhooks form:
// "whsec_" and the base64 of 32 random bytes (the HMAC key).
func NewSecret() string {
	b := make([]byte, SecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return FormatSecret(b)
}

// FormatSecret is the secret whose HMAC key is key (SecretKey's inverse).
func FormatSecret(key []byte) string { return SecretPrefix + base64.StdEncoding.EncodeToString(key) }

// SecretKey is the HMAC key of a secret made by NewSecret.
func SecretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) < 24 || len(key) > 64 || !strings.HasPrefix(secret, SecretPrefix) {
		return nil, errors.New("not a whsec_ secret")
	}
	return key, nil
}

// RetryPolicy is when a failed delivery is tried again: after each delay
// of Schedule in turn; when they are used up the delivery has failed.
type RetryPolicy struct {
	Schedule []time.Duration
}

// DefaultRetrySchedule follows the Standard Webhooks reference: about 28
// hours from the first attempt to the last.
var DefaultRetrySchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Next is the delay before the attempt after the attempts-th failed one
// (attempts ≥ 1); ok is false when none is left.
func (p RetryPolicy) Next(attempts int) (time.Duration, bool) {
	if attempts < 1 || attempts > len(p.Schedule) {
		return 0, false
	}
	return p.Schedule[attempts-1], true
}

// PersistentlyFailing is the rule that disables an endpoint: a delivery used
// up every retry and the endpoint has not succeeded since that delivery's
// first attempt (it failed, without a success, for the whole schedule).
func PersistentlyFailing(failingSince, firstAttempt time.Time) bool {
	return !failingSince.IsZero() && !failingSince.After(firstAttempt)
}

// Attempt is one try at sending a delivery: the delivery log.
type Attempt struct {
	At       time.Time `json:"at"`
	Status   int       `json:"status,omitempty"` // the HTTP status; 0: no answer
	Error    string    `json:"error,omitempty"`  // why it failed (never the URL)
	Response string    `json:"response,omitempty"`
	Duration int64     `json:"duration_ms"`
	Manual   bool      `json:"manual,omitempty"`
}

// Succeeded reports a 2xx answer.
func (a Attempt) Succeeded() bool { return a.Status >= 200 && a.Status < 300 && a.Error == "" }

// MaxAttemptLog bounds the attempts a delivery keeps (the latest).
const MaxAttemptLog = 20

// Delivery is one event sent (or to be sent) to one endpoint.
type Delivery struct {
	ID          string
	EndpointID  string
	EventSource string
	EventID     string
	EventType   string
	State       string
	Attempts    int
	NextAttempt time.Time
	LastStatus  int
	LastError   string
	Log         []Attempt
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DisabledEndpoint is an endpoint the dispatcher disables for persistent
// failure, with what the notice says.
type DisabledEndpoint struct {
	EndpointID     string
	Consumer       string
	URL            string
	Reason         string
	FailingSince   time.Time
	LastDeliveryID string
	LastStatus     int
	LastError      string
	Cancelled      int
	DisabledAt     time.Time
}

// deliveryPosition is a place in an endpoint's delivery log (newest first).
type deliveryPosition struct {
	CreatedAt time.Time `json:"c"`
	ID        string    `json:"i"`
}

// DeliveryCursor is the opaque cursor after d in a delivery log.
func DeliveryCursor(d Delivery) string {
	return page.Encode(deliveryPosition{CreatedAt: d.CreatedAt, ID: d.ID})
}

// ParseDeliveryCursor reads a cursor made by DeliveryCursor: a delivery
// with only CreatedAt and ID set.
func ParseDeliveryCursor(s string) (Delivery, error) {
	var p deliveryPosition
	if !page.Decode(s, &p) || p.CreatedAt.IsZero() || !strings.HasPrefix(p.ID, "wd_") {
		return Delivery{}, ErrInvalidCursor
	}
	return Delivery{ID: p.ID, CreatedAt: p.CreatedAt}, nil
}
