package bus

import (
	"errors"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// Awaiting marks a handler's error as a wait for another event of the same
// partner that the service has not applied yet: it comes on another
// durable (another stream or event type) and may be a few milliseconds
// behind, as when agreements records an acceptance before registration has
// applied the approval it depends on. The router redelivers such an event
// soon, after a tenth and then two fifths of BUS_NAK_BASE (50 and 200 ms by
// default), and then with the usual backoff: two deliveries more than any
// other transient failure before it is dead-lettered with the error's code,
// so it waits at least as long overall. Without the quick retries the
// partner waited a whole BUS_NAK_BASE (500 ms) for the first redelivery.
// A nil err stays nil.
func Awaiting(err error) error {
	if err == nil {
		return nil
	}
	return &awaitingError{err: err}
}

// AwaitingPartner is Awaiting for a use case's coded answer that the
// partner's other event has not been applied yet (a case, a contact, an
// approval): the same code, unavailable for now ("(yet)"), naming the
// partner — the code a dead letter gets if the wait runs out.
func AwaitingPartner(ae *apperr.Error, partnerID string) error {
	return Awaiting(apperr.New(apperr.KindUnavailable, ae.Code, ae.Message+" (yet): partner "+partnerID))
}

type awaitingError struct{ err error }

func (e *awaitingError) Error() string { return e.err.Error() }
func (e *awaitingError) Unwrap() error { return e.err }

// isAwaiting reports whether err, or an error it wraps, came from Awaiting.
func isAwaiting(err error) bool {
	var a *awaitingError
	return errors.As(err, &a)
}
