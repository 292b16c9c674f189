package ce

import "context"

// Cause is what an outgoing event inherits from the event or request that
// caused it: the correlation id of the whole conversation, the id of the
// direct cause and the W3C trace context.
type Cause struct {
	CorrelationID string
	CausationID   string
	TraceParent   string
}

type causeKey struct{}

// WithCause returns ctx carrying c.
func WithCause(ctx context.Context, c Cause) context.Context {
	return context.WithValue(ctx, causeKey{}, c)
}

// CauseFrom returns the cause in ctx (zero if none).
func CauseFrom(ctx context.Context) Cause {
	c, _ := ctx.Value(causeKey{}).(Cause)
	return c
}

// CauseOf is the cause that events produced in reaction to e carry: e's
// correlation id (or e's id when it starts a conversation), e's id as the
// causation id, and e's trace context.
func CauseOf(e Event) Cause {
	corr := e.CorrelationID
	if corr == "" {
		corr = e.ID
	}
	return Cause{CorrelationID: corr, CausationID: e.ID, TraceParent: e.TraceParent}
}
