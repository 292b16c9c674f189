package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Error codes of the webhook API.
const (
	CodeEndpointUnknown  = "timeline.webhook_endpoint_unknown"
	CodeDeliveryUnknown  = "timeline.webhook_delivery_unknown"
	CodeInvalidEndpoint  = "timeline.invalid_webhook_endpoint"
	CodeEndpointDisabled = "timeline.webhook_endpoint_disabled"
	CodeInvalidRotation  = "timeline.invalid_rotation"
	CodeInvalidState     = "timeline.invalid_state"
)

// ErrNotFound is what a WebhookStore returns for an endpoint or delivery it
// does not hold.
var ErrNotFound = errors.New("not found")

// WebhookStore keeps endpoints, their sealed secrets and their deliveries.
type WebhookStore interface {
	// CreateEndpoint stores a new endpoint with its first secret. With
	// once.Key set, when e.CreatedBy created an endpoint under that key
	// before, nothing is stored and that endpoint is returned (its id and
	// the digest of the request that created it).
	CreateEndpoint(ctx context.Context, e domain.Endpoint, secret SealedSecret, once Idempotency) (PriorCreation, error)
	// Endpoint loads one endpoint (its secrets described, not opened).
	Endpoint(ctx context.Context, id string) (domain.Endpoint, error)
	// Endpoints lists endpoints oldest first, of one consumer (""=all),
	// after the endpoint id after ("" = from the start).
	Endpoints(ctx context.Context, consumer, after string, limit int) ([]domain.Endpoint, error)
	// UpdateEndpoint changes an endpoint under a row lock; when it is
	// disabled by fn, its pending deliveries are cancelled.
	UpdateEndpoint(ctx context.Context, id string, fn func(*domain.Endpoint) error) (domain.Endpoint, error)
	// DeleteEndpoint deletes an endpoint, its secrets and its deliveries.
	DeleteEndpoint(ctx context.Context, id string) error
	// RotateSecret adds secret as the endpoint's current one; every secret
	// current until now expires at previousUntil (earlier expiries stay),
	// and secrets expired before now are deleted.
	RotateSecret(ctx context.Context, endpointID string, secret SealedSecret, now, previousUntil time.Time) error
	// Deliveries lists an endpoint's deliveries newest first.
	Deliveries(ctx context.Context, endpointID string, q DeliveryQuery) ([]domain.Delivery, error)
	// Redeliver makes a delivery pending again, claimed until leaseUntil
	// (one attempt when it had finished); ErrNotFound when the endpoint has
	// no such delivery.
	Redeliver(ctx context.Context, endpointID, deliveryID string, leaseUntil time.Time) (domain.Delivery, error)
	// ClaimDue claims up to limit pending deliveries due at now until
	// leaseUntil and says when the next pending one is due (zero: none).
	ClaimDue(ctx context.Context, now, leaseUntil time.Time, limit int) (ids []string, next time.Time, err error)
	// ExtendLeases moves the lease of the pending deliveries ids, which
	// this process holds, to until (a heartbeat): a lease runs out only
	// when its holder is gone.
	ExtendLeases(ctx context.Context, ids []string, until time.Time) error
	// Outgoing loads what sending the pending deliveries ids takes: the
	// event, the endpoint and its unexpired sealed secrets (newest first).
	// Deliveries no longer pending, or of a disabled endpoint, are left out.
	Outgoing(ctx context.Context, ids []string) ([]Outgoing, error)
	// EndpointsForSend loads what sending to the endpoints ids takes
	// (deleted ones are left out).
	EndpointsForSend(ctx context.Context, ids []string) ([]EndpointForSend, error)
	// RecordAttempts stores the outcome of attempts and the endpoints'
	// health, then disables each endpoint of disable that has been failing
	// since no later than its FailingSince (the exhausted delivery's first
	// attempt), cancels its pending deliveries and writes its notice: what
	// the dispatcher decided, in one transaction. It returns the endpoints
	// it disabled, FailingSince and Cancelled as stored.
	RecordAttempts(ctx context.Context, results []AttemptResult, health []EndpointHealth, disable []domain.DisabledEndpoint) ([]domain.DisabledEndpoint, error)
}

// SealedSecret is a signing secret as stored: encrypted.
type SealedSecret struct {
	ID        string
	Sealed    []byte
	CreatedAt time.Time
}

// Keyring encrypts signing secrets at rest (WEBHOOK_SECRET_KEY): the
// signing key must be usable, so a secret is sealed, not hashed; the
// endpoint and secret ids are bound to the ciphertext.
type Keyring interface {
	Seal(endpointID, secretID string, secret []byte) ([]byte, error)
	Open(endpointID, secretID string, sealed []byte) ([]byte, error)
}

// Sender sends one delivery: the body, signed with every key.
type Sender interface {
	Send(ctx context.Context, url, msgID string, at time.Time, body []byte, keys [][]byte) domain.Attempt
}

// Outgoing is a pending delivery with what sending it takes.
type Outgoing struct {
	Delivery     domain.Delivery
	Event        domain.Event
	URL          string
	Consumer     string
	Scope        string // the endpoint's: only ScopeAll reads staff-only members
	Secrets      []SealedSecret
	FirstAttempt time.Time // zero before the first attempt
	// Manual is a redelivery asked for by hand: one attempt beside the
	// retry schedule, no effect on the endpoint's health.
	Manual bool
	// Scheduled is how many attempts of the retry schedule were made (the
	// ones by hand not counted).
	Scheduled int
	// ResumeAt is, for a redelivery by hand of a pending delivery, when
	// its schedule's next attempt was due: a failed attempt by hand leaves
	// it there.
	ResumeAt time.Time
	// Redeliveries is how many redeliveries by hand were asked for when it
	// was loaded: one asked for while the attempt is in flight is made
	// after it, whatever its outcome.
	Redeliveries int
}

// EndpointForSend is what sending to an endpoint takes.
type EndpointForSend struct {
	ID       string
	URL      string
	Consumer string
	Scope    string
	Status   string
	Secrets  []SealedSecret // unexpired, newest first
}

// AttemptResult is one attempt's outcome and what becomes of its delivery.
type AttemptResult struct {
	DeliveryID string
	// Attempts is how many attempts were made before this one (the
	// claim's: a late duplicate's result is ignored).
	Attempts int
	// Redeliveries is the loaded count (Outgoing.Redeliveries).
	Redeliveries int
	Attempt      domain.Attempt
	// State is the delivery's state after it (pending: retry at Next).
	State string
	Next  time.Time
}

// EndpointHealth is an endpoint's standing after a batch of attempts.
type EndpointHealth struct {
	EndpointID string
	// FailingSince: zero clears it (the latest attempt succeeded); else the
	// first failure since the last success, kept if already set.
	FailingSince time.Time
}

// DeliveryQuery selects an endpoint's deliveries.
type DeliveryQuery struct {
	State string
	// After is the last delivery of the previous page.
	After *domain.Delivery
	Limit int
}

// WebhookPolicy are the dispatcher's settings.
type WebhookPolicy struct {
	Retry domain.RetryPolicy
	// Lease is how long a claimed delivery is left to its holder before
	// another may claim it; the holder renews it every third of it while
	// the delivery waits, is sent and is recorded.
	Lease time.Duration
	// Batch bounds the deliveries one run sends.
	Batch int
	// Concurrency bounds the requests in flight; one endpoint has at most
	// half of them.
	Concurrency int
	// AllowInsecure admits http URLs and private addresses (development).
	AllowInsecure bool
	// Window is how long a handed-off delivery may wait for others, so
	// that deliveries of events recorded a few milliseconds apart go out,
	// and are recorded, in one run.
	Window time.Duration
	// Every is the safety sweep's period (leases of replicas that died,
	// retries another replica scheduled).
	Every time.Duration
}

// Webhooks is the webhook side of the app.
type Webhooks struct {
	Store  WebhookStore
	Keys   Keyring
	Sender Sender
	Policy WebhookPolicy
	Now    func() time.Time
	NewID  func() string
	// Wake makes the dispatcher run (its job's waker).
	Wake func()

	queue     handoff
	endpoints endpointCache
	inFlight  inFlight
}

// Limits of the webhook API's lists.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
	defaultOverlap   = 24 * time.Hour
)

// CreateEndpoint is a request to register an endpoint, as sent.
type CreateEndpoint struct {
	URL         string
	EventTypes  []string
	Description string
	// Consumer and Scope: operators may name them (default: the operator
	// and every event); an upstream system's endpoints are its own, scoped
	// to the partners it registered.
	Consumer string
	Scope    string
	// Once is the request's Idempotency-Key (none: Key empty).
	Once Idempotency
}

// Idempotency names a creation a client may retry: its Idempotency-Key,
// unique per principal, and the digest of its request, which a retry must
// match.
type Idempotency struct {
	Key           string
	RequestDigest string
}

// PriorCreation is the endpoint created before under an Idempotency-Key
// (EndpointID empty: none, the endpoint was created now).
type PriorCreation struct {
	EndpointID    string
	RequestDigest string
}

// ErrKeyReused: the Idempotency-Key was used before with another request.
var ErrKeyReused = errors.New("idempotency key used with another request")

// CodeSecretUnavailable: a retried creation's endpoint has no secret the
// service can open to show again (WEBHOOK_SECRET_KEY changed).
const CodeSecretUnavailable = "timeline.secret_unavailable"

// CreatedEndpoint is a new endpoint and its signing secret, shown once
// (and again to a retry of its creation under the same Idempotency-Key,
// Replayed set).
type CreatedEndpoint struct {
	Endpoint domain.Endpoint
	Secret   string
	Replayed bool
}

func staffOrUpstream(p auth.Principal) (operator bool, err error) {
	if err := p.Require(auth.RoleOperator, auth.RoleUpstreamSystem); err != nil {
		return false, err
	}
	return p.Has(auth.RoleOperator), nil
}

func invalidEndpoint(field string, err error) error {
	return apperr.Invalid(CodeInvalidEndpoint, err.Error(), apperr.FieldError{Field: field, Code: CodeInvalidEndpoint, Message: err.Error()})
}

// CreateEndpoint registers an endpoint and returns its first secret (the
// only time it is shown).
func (w *Webhooks) CreateEndpoint(ctx context.Context, p auth.Principal, cmd CreateEndpoint) (CreatedEndpoint, error) {
	operator, err := staffOrUpstream(p)
	if err != nil {
		return CreatedEndpoint{}, err
	}
	now := w.Now().UTC().Truncate(time.Microsecond)
	e := domain.Endpoint{ID: "we_" + w.NewID(), Consumer: cmd.Consumer, Scope: cmd.Scope, Status: domain.EndpointEnabled,
		CreatedBy: p.Subject, CreatedAt: now, UpdatedAt: now}
	switch {
	case operator:
		if e.Consumer == "" {
			e.Consumer = p.Subject
		}
		if e.Scope == "" {
			e.Scope = domain.ScopeAll
		}
	case e.Consumer != "" && e.Consumer != p.Subject:
		return CreatedEndpoint{}, apperr.Forbidden("auth.role_required", "an upstream system registers endpoints for itself only")
	case e.Scope != "" && e.Scope != domain.ScopeRegistered:
		return CreatedEndpoint{}, apperr.Forbidden("auth.role_required", "an upstream system's endpoints receive the events about the partners it registered")
	default:
		e.Consumer, e.Scope = p.Subject, domain.ScopeRegistered
	}
	if e.Scope != domain.ScopeAll && e.Scope != domain.ScopeRegistered {
		return CreatedEndpoint{}, invalidEndpoint("scope", fmt.Errorf("%w: scope is all or registered", domain.ErrScope))
	}
	if len(e.Consumer) > 256 || strings.TrimSpace(e.Consumer) != e.Consumer {
		return CreatedEndpoint{}, invalidEndpoint("consumer", errors.New("consumer is a principal's subject (at most 256 bytes)"))
	}
	if p, bad := normalize.CheckText(e.Consumer); bad { // listed and filtered on: it must read as it compares
		return CreatedEndpoint{}, invalidEndpoint("consumer", fmt.Errorf("consumer is a principal's subject: a control, invisible or bidirectional-control character (%s)", p))
	}
	if err := w.apply(&e, &cmd.URL, &cmd.EventTypes, &cmd.Description); err != nil {
		return CreatedEndpoint{}, err
	}
	secret := domain.NewSecret()
	sealed, err := w.seal(e.ID, secret, now)
	if err != nil {
		return CreatedEndpoint{}, err
	}
	e.Secrets = []domain.SecretInfo{{ID: sealed.ID, CreatedAt: now}}
	prior, err := w.Store.CreateEndpoint(ctx, e, sealed, cmd.Once)
	if err != nil {
		return CreatedEndpoint{}, fmt.Errorf("create webhook endpoint: %w", err)
	}
	if prior.EndpointID != "" {
		return w.createdBefore(ctx, prior, cmd.Once)
	}
	return CreatedEndpoint{Endpoint: e, Secret: secret}, nil
}

// createdBefore answers a retry of a creation: the endpoint created under
// its key as it is now, with the secret that signs now (the client that
// lost the first answer lost the secret with it). The answer is rebuilt,
// not kept: a kept one would hold the secret in clear.
func (w *Webhooks) createdBefore(ctx context.Context, prior PriorCreation, once Idempotency) (CreatedEndpoint, error) {
	if prior.RequestDigest != once.RequestDigest {
		return CreatedEndpoint{}, ErrKeyReused
	}
	e, err := w.Store.Endpoint(ctx, prior.EndpointID)
	if err != nil {
		return CreatedEndpoint{}, fmt.Errorf("load webhook endpoint %s: %w", prior.EndpointID, err)
	}
	sends, err := w.Store.EndpointsForSend(ctx, []string{prior.EndpointID})
	if err != nil {
		return CreatedEndpoint{}, fmt.Errorf("load webhook endpoint %s: %w", prior.EndpointID, err)
	}
	for _, s := range sends {
		if len(s.Secrets) == 0 {
			break
		}
		if key, err := w.Keys.Open(s.ID, s.Secrets[0].ID, s.Secrets[0].Sealed); err == nil {
			return CreatedEndpoint{Endpoint: e, Secret: domain.FormatSecret(key), Replayed: true}, nil
		}
	}
	return CreatedEndpoint{}, apperr.Conflict(CodeSecretUnavailable, "the endpoint created under this Idempotency-Key has no secret that can be shown again; rotate it (POST /v1/webhooks/endpoints/"+prior.EndpointID+"/secret/rotate)")
}

// apply sets the changed members of e (nil: unchanged), each validated.
func (w *Webhooks) apply(e *domain.Endpoint, url *string, types *[]string, description *string) error {
	if url != nil {
		if strings.TrimSpace(*url) == "" {
			return apperr.Invalid(CodeInvalidEndpoint, "url is required",
				apperr.FieldError{Field: "url", Code: apperr.CodeFieldRequired, Message: "is required"})
		}
		u, err := domain.CheckEndpointURL(*url, w.Policy.AllowInsecure)
		if err != nil {
			return invalidEndpoint("url", err)
		}
		e.URL = u
	}
	if types != nil {
		t, err := domain.NormalizeEventTypes(*types, EventDomains)
		if err != nil {
			return invalidEndpoint("event_types", err)
		}
		e.EventTypes = t
	}
	if description != nil {
		if len(*description) > domain.MaxDescription {
			return invalidEndpoint("description", fmt.Errorf("%w: at most %d bytes", domain.ErrDescription, domain.MaxDescription))
		}
		if p, bad := normalize.CheckFreeText(*description); bad {
			return invalidEndpoint("description", fmt.Errorf("%w: a control, invisible or bidirectional-control character (%s)", domain.ErrDescription, p))
		}
		e.Description = *description
	}
	return nil
}

func (w *Webhooks) seal(endpointID, secret string, now time.Time) (SealedSecret, error) {
	key, err := domain.SecretKey(secret)
	if err != nil {
		return SealedSecret{}, err
	}
	s := SealedSecret{ID: "ws_" + w.NewID(), CreatedAt: now}
	if s.Sealed, err = w.Keys.Seal(endpointID, s.ID, key); err != nil {
		return SealedSecret{}, fmt.Errorf("seal webhook secret: %w", err)
	}
	return s, nil
}

// endpointID reports whether id reads as an endpoint's id ("we_" and a
// UUID, as CreateEndpoint makes them).
func endpointID(id string) bool {
	rest, ok := strings.CutPrefix(id, "we_")
	return ok && uuid.Validate(rest) == nil
}

// endpoint loads an endpoint the caller may manage: operators any, an
// upstream system its own (another's answers as unknown).
func (w *Webhooks) endpoint(ctx context.Context, p auth.Principal, id string) (domain.Endpoint, error) {
	operator, err := staffOrUpstream(p)
	if err != nil {
		return domain.Endpoint{}, err
	}
	unknown := apperr.NotFound(CodeEndpointUnknown, "no webhook endpoint "+id)
	if !endpointID(id) {
		return domain.Endpoint{}, unknown
	}
	e, err := w.Store.Endpoint(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !operator && e.Consumer != p.Subject) {
		return domain.Endpoint{}, unknown
	}
	return e, err
}

// GetEndpoint returns one endpoint.
func (w *Webhooks) GetEndpoint(ctx context.Context, p auth.Principal, id string) (domain.Endpoint, error) {
	return w.endpoint(ctx, p, id)
}

// ListEndpoints lists the endpoints the caller manages, oldest first: an
// operator's every endpoint (or one consumer's), an upstream system's own.
func (w *Webhooks) ListEndpoints(ctx context.Context, p auth.Principal, consumer, after, limit string) ([]domain.Endpoint, string, error) {
	operator, err := staffOrUpstream(p)
	if err != nil {
		return nil, "", err
	}
	if !operator {
		if consumer != "" && consumer != p.Subject {
			return []domain.Endpoint{}, "", nil
		}
		consumer = p.Subject
	}
	n, err := parseLimit(limit)
	if err != nil {
		return nil, "", err
	}
	// The cursor is the last endpoint's id: anything else would start a
	// page somewhere in the list ("zzz" after every id: an empty page).
	if after != "" && !endpointID(after) {
		return nil, "", page.InvalidAfter(CodeInvalidCursor)
	}
	list, err := w.Store.Endpoints(ctx, consumer, after, n+1)
	if err != nil {
		return nil, "", fmt.Errorf("list webhook endpoints: %w", err)
	}
	next := ""
	if len(list) > n {
		list, next = list[:n], list[n-1].ID
	}
	return list, next, nil
}

func parseLimit(s string) (int, error) {
	n, fe := apperr.ParseLimit(s, DefaultListLimit, MaxListLimit)
	if fe != nil {
		return 0, apperr.Invalid(apperr.CodeInvalidQueryParameter, fmt.Sprintf("limit must be an integer from 1 to %d", MaxListLimit), *fe)
	}
	return n, nil
}

// UpdateEndpoint is a change of an endpoint; nil members stay.
type UpdateEndpoint struct {
	URL         *string
	EventTypes  *[]string
	Description *string
}

// UpdateEndpoint changes where an endpoint's deliveries go and what it is
// sent (from the next event recorded on).
func (w *Webhooks) UpdateEndpoint(ctx context.Context, p auth.Principal, id string, cmd UpdateEndpoint) (domain.Endpoint, error) {
	if _, err := w.endpoint(ctx, p, id); err != nil {
		return domain.Endpoint{}, err
	}
	return w.update(ctx, id, func(e *domain.Endpoint) error { return w.apply(e, cmd.URL, cmd.EventTypes, cmd.Description) })
}

func (w *Webhooks) update(ctx context.Context, id string, fn func(*domain.Endpoint) error) (domain.Endpoint, error) {
	defer w.endpoints.forget(id)
	e, err := w.Store.UpdateEndpoint(ctx, id, func(e *domain.Endpoint) error {
		if err := fn(e); err != nil {
			return err
		}
		e.UpdatedAt = w.Now().UTC().Truncate(time.Microsecond)
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return domain.Endpoint{}, apperr.NotFound(CodeEndpointUnknown, "no webhook endpoint "+id)
	}
	return e, err
}

// EnableEndpoint resumes deliveries to an endpoint (from the next event
// recorded on; what was recorded while it was disabled is in the feed).
func (w *Webhooks) EnableEndpoint(ctx context.Context, p auth.Principal, id string) (domain.Endpoint, error) {
	if _, err := w.endpoint(ctx, p, id); err != nil {
		return domain.Endpoint{}, err
	}
	return w.update(ctx, id, func(e *domain.Endpoint) error {
		e.Status, e.DisabledReason, e.DisabledAt, e.FailingSince = domain.EndpointEnabled, "", time.Time{}, time.Time{}
		return nil
	})
}

// DisableEndpoint stops deliveries to an endpoint; those still due are
// cancelled.
func (w *Webhooks) DisableEndpoint(ctx context.Context, p auth.Principal, id string) (domain.Endpoint, error) {
	if _, err := w.endpoint(ctx, p, id); err != nil {
		return domain.Endpoint{}, err
	}
	return w.update(ctx, id, func(e *domain.Endpoint) error {
		if e.Status != domain.EndpointDisabled {
			e.Status, e.DisabledReason, e.DisabledAt = domain.EndpointDisabled, domain.DisabledByCaller, w.Now().UTC()
		}
		return nil
	})
}

// DeleteEndpoint deletes an endpoint with its secrets and delivery log.
func (w *Webhooks) DeleteEndpoint(ctx context.Context, p auth.Principal, id string) error {
	if _, err := w.endpoint(ctx, p, id); err != nil {
		return err
	}
	defer w.endpoints.forget(id)
	if err := w.Store.DeleteEndpoint(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	return nil
}

// RotatedSecret is an endpoint's new secret (shown once) and when the
// previous one stops signing.
type RotatedSecret struct {
	Endpoint         domain.Endpoint
	Secret           string
	PreviousExpireAt time.Time
}

// RotateSecret gives an endpoint a new signing secret. Until the previous
// one expires (overlap, default 24 hours, at most 7 days, 0: at once) every
// delivery carries a signature by each, so the receiver can switch secrets
// at its own pace.
func (w *Webhooks) RotateSecret(ctx context.Context, p auth.Principal, id string, overlap *time.Duration) (RotatedSecret, error) {
	if _, err := w.endpoint(ctx, p, id); err != nil {
		return RotatedSecret{}, err
	}
	o := defaultOverlap
	if overlap != nil {
		o = *overlap
	}
	if o < 0 || o > domain.MaxRotateOverlap {
		msg := fmt.Sprintf("the previous secret may sign for 0 to %d seconds", int(domain.MaxRotateOverlap.Seconds()))
		return RotatedSecret{}, apperr.Invalid(CodeInvalidRotation, msg,
			apperr.FieldError{Field: "previous_secret_expires_in", Code: CodeInvalidRotation, Message: msg})
	}
	now := w.Now().UTC().Truncate(time.Microsecond)
	secret := domain.NewSecret()
	sealed, err := w.seal(id, secret, now)
	if err != nil {
		return RotatedSecret{}, err
	}
	defer w.endpoints.forget(id)
	if err := w.Store.RotateSecret(ctx, id, sealed, now, now.Add(o)); err != nil {
		return RotatedSecret{}, fmt.Errorf("rotate the secret of %s: %w", id, err)
	}
	e, err := w.Store.Endpoint(ctx, id)
	if err != nil {
		return RotatedSecret{}, err
	}
	return RotatedSecret{Endpoint: e, Secret: secret, PreviousExpireAt: now.Add(o)}, nil
}

// ListDeliveries is an endpoint's delivery log, newest first.
func (w *Webhooks) ListDeliveries(ctx context.Context, p auth.Principal, endpointID, state, after, limit string) ([]domain.Delivery, string, error) {
	if _, err := w.endpoint(ctx, p, endpointID); err != nil {
		return nil, "", err
	}
	switch state {
	case "", domain.DeliveryPending, domain.DeliverySucceeded, domain.DeliveryFailed, domain.DeliveryCancelled:
	default:
		return nil, "", apperr.Invalid(CodeInvalidState, "state is pending, succeeded, failed or cancelled",
			apperr.FieldError{Field: "state", Code: CodeInvalidState, Message: "not a delivery state"})
	}
	n, err := parseLimit(limit)
	if err != nil {
		return nil, "", err
	}
	q := DeliveryQuery{State: state, Limit: n + 1}
	if after != "" {
		pos, err := domain.ParseDeliveryCursor(after)
		if err != nil {
			return nil, "", page.InvalidAfter(CodeInvalidCursor)
		}
		q.After = &pos
	}
	list, err := w.Store.Deliveries(ctx, endpointID, q)
	if err != nil {
		return nil, "", fmt.Errorf("deliveries of %s: %w", endpointID, err)
	}
	next := ""
	if len(list) > n {
		list, next = list[:n], domain.DeliveryCursor(list[n-1])
	}
	return list, next, nil
}

// Redeliver sends a delivery again now, one attempt by hand beside its
// retry schedule (no effect on the endpoint's health): a finished one gets
// one more attempt and no retries; a pending one is tried at once and, if
// that fails, goes on with its schedule where it was — attempts by hand use
// up no retry, so they cannot get the endpoint disabled. The endpoint must
// be enabled.
func (w *Webhooks) Redeliver(ctx context.Context, p auth.Principal, endpointID, deliveryID string) (domain.Delivery, error) {
	e, err := w.endpoint(ctx, p, endpointID)
	if err != nil {
		return domain.Delivery{}, err
	}
	if e.Status != domain.EndpointEnabled {
		return domain.Delivery{}, apperr.Conflict(CodeEndpointDisabled, "the endpoint is disabled: enable it first")
	}
	d, err := w.Store.Redeliver(ctx, endpointID, deliveryID, w.Now().Add(w.Policy.Lease))
	if errors.Is(err, ErrNotFound) {
		return domain.Delivery{}, apperr.NotFound(CodeDeliveryUnknown, "the endpoint has no delivery "+deliveryID)
	}
	if err != nil {
		return domain.Delivery{}, err
	}
	w.HandOff(d.ID)
	return d, nil
}
