package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// Partners is the store of the partner projection. Its two methods serve the
// projection handlers (Upsert) and every rule that looks at partners (Get).
type Partners interface {
	// Get returns the partner whose global ID, or one of whose location IDs,
	// is id; domain.ErrPartnerNotFound when there is none.
	Get(ctx context.Context, id string) (domain.Partner, error)
	// Upsert loads the partner with global ID id (a zero Partner with that ID
	// when absent), runs fn and saves the result in one transaction, unless
	// fn returns an error. The adapter also records the inbound event id in
	// its inbox inside that transaction.
	Upsert(ctx context.Context, id string, fn func(*domain.Partner) error) error
	// Holding runs fn in one transaction (the one ctx carries, if any) that
	// first takes a share lock on the partners with these global IDs, in
	// the order the bus locks partners (byte order of the ID). Until it
	// ends, an Upsert of one of them waits; Get and the writes of
	// Relationships inside fn join it and see every change committed
	// before. A rule that grants something on the strength of a partner's
	// standing checks it under this lock: a standing change then either
	// committed before (the rule refuses) or waits and finds the grant.
	Holding(ctx context.Context, ids []string, fn func(ctx context.Context) error) error
}

// Relationships is the repository of the Relationship aggregate. Every write
// pulls the aggregate's events (PullEvents) and writes them to the outbox in
// the same transaction, and stores NextDueAt for DueIDs.
type Relationships interface {
	// Add stores a new relationship. At most one relationship per (provider,
	// reseller) pair may be open (state proposed or active); the adapter
	// enforces that with a unique index and answers domain.ErrRequestPending
	// (the open one is proposed) or domain.ErrRelationshipExists (active).
	Add(ctx context.Context, r *domain.Relationship) error
	// Get returns a relationship; domain.ErrRelationshipNotFound if none.
	Get(ctx context.Context, id string) (*domain.Relationship, error)
	// Update loads the relationship under a row lock, runs fn and saves it
	// with its events unless fn returns an error. Concurrent updates of one
	// relationship are serialised: this is what makes two simultaneous ends
	// produce exactly one RelationshipEnded.
	Update(ctx context.Context, id string, fn func(*domain.Relationship) error) error
	// Open returns the open (proposed or active) relationship between the
	// two partners (global IDs); domain.ErrRelationshipNotFound if none.
	Open(ctx context.Context, providerID, resellerID string) (*domain.Relationship, error)
	// IDByTokenHash returns the relationship holding the request with this
	// token hash; domain.ErrInvitationUnknown if none.
	IDByTokenHash(ctx context.Context, h domain.TokenHash) (string, error)
	// ListByProvider and ListByReseller return a partner's relationships
	// (global ID), newest first.
	ListByProvider(ctx context.Context, providerID string) ([]*domain.Relationship, error)
	ListByReseller(ctx context.Context, resellerID string) ([]*domain.Relationship, error)
	// ListPage returns a page of q's relationships, newest first (then by
	// id), and the position of its last one when more follow (nil at the
	// last page).
	ListPage(ctx context.Context, q RelationshipPage) ([]*domain.Relationship, *page.Position, error)
	// DueIDs returns up to limit relationships whose NextDueAt is at or
	// before now, earliest first.
	DueIDs(ctx context.Context, now time.Time, limit int) ([]string, error)
}
