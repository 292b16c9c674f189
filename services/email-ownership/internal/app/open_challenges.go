package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// Enrollment is one program enrollment of a registration.
type Enrollment struct {
	EnrollmentID string
	Program      string
}

// Addressee is the partner's contact as an event of registration names it
// — where a confirmation mail goes — and that event.
type Addressee struct {
	PartnerID   string
	Email       string
	ContactName string
	Language    string // ja or en; empty: chosen by market
	Market      string // ISO 3166-1 alpha-2
	CausationID string // CloudEvent id of the registration event
	// Sequence is the event's partner sequence (0: unknown): a later
	// contact change's sequence is higher.
	Sequence uint64
}

// recipient validates the addressee and returns it as a mail's recipient.
func (ad Addressee) recipient() (domain.Recipient, error) {
	addr, err := domain.NormalizeAddress(ad.Email)
	if err != nil {
		return domain.Recipient{}, translate(err)
	}
	lang, err := domain.ParseLanguage(ad.Language, ad.Market)
	if err != nil {
		return domain.Recipient{}, translate(err)
	}
	if strings.TrimSpace(ad.PartnerID) == "" {
		return domain.Recipient{}, apperr.Invalid(CodeInvalidCommand, "partner id is required")
	}
	return domain.Recipient{Address: addr, ContactName: ad.ContactName, Language: lang, Market: strings.ToUpper(ad.Market)}, nil
}

// OpenChallengesCommand comes from a "registration submitted" event.
type OpenChallengesCommand struct {
	Addressee
	Enrollments []Enrollment
	// Reason is why: domain.ReasonRegistration unless a profile change.
	Reason domain.OpenReason
	// ProfileChange is registration's change number when Reason is
	// domain.ReasonProfileChange (required then).
	ProfileChange int
	// RegisteredBy is who submitted the partner's registration (the
	// registration's submitted_by); empty for a later enrollment, which
	// takes it from the partner's other enrollments.
	RegisteredBy string
	// Added: an enrollment the partner added after its registration
	// (enrollment.added). It may be heard of before the registration
	// (another durable): while the partner has no enrollment here it waits
	// (CodePartnerUnknown) — opened then, its proof would name no
	// registrant and be readable by every upstream system
	// (auth.Principal.ActsForRecord). It opens on the contact a later
	// change named (latestContact).
	Added bool
}

// OpenedChallenge names a challenge that this call opened.
type OpenedChallenge struct {
	EnrollmentID string
	ChallengeID  string
}

// OpenChallengesResult lists what was opened; a replay opens nothing.
type OpenChallengesResult struct {
	Opened []OpenedChallenge
}

// OpenChallenges opens one challenge per enrollment for the address. It is
// idempotent: an enrollment that already has a challenge for this address, or
// that already saw CausationID, is left alone. Each enrollment is its own
// transaction; on error the caller retries the whole event, which is safe.
// Internal trigger (event consumer): no principal.
func (a *App) OpenChallenges(ctx context.Context, cmd OpenChallengesCommand) (OpenChallengesResult, error) {
	rcpt, err := cmd.recipient()
	if err != nil {
		return OpenChallengesResult{}, err
	}
	if len(cmd.Enrollments) == 0 {
		return OpenChallengesResult{}, apperr.Invalid(CodeInvalidCommand, "at least one enrollment is required")
	}
	if cmd.Added {
		// The contact change registration applied after adding it may have
		// been heard of first (another durable): its address is the
		// contact now.
		if rcpt, err = a.latestContact(ctx, cmd.PartnerID, cmd.Sequence, rcpt); err != nil {
			return OpenChallengesResult{}, err
		}
	}
	addr := rcpt.Address
	var res OpenChallengesResult
	for _, e := range cmd.Enrollments {
		registrant, removedBy := cmd.RegisteredBy, ""
		if registrant == "" {
			var others int
			if registrant, removedBy, others, err = a.partnerFacts(ctx, cmd.PartnerID, addr); err != nil {
				return res, err
			}
			if cmd.Added && others == 0 {
				return res, apperr.NotFound(CodePartnerUnknown, "no enrollment of partner "+cmd.PartnerID+" registered yet")
			}
		}
		ref := domain.EnrollmentRef{EnrollmentID: e.EnrollmentID, PartnerID: cmd.PartnerID, Program: e.Program, RegisteredBy: registrant}
		fresh, err := domain.NewOwnership(ref)
		if err != nil {
			return res, translate(err)
		}
		is, err := a.issue()
		if err != nil {
			return res, err
		}
		var opened bool
		err = a.d.Repo.Upsert(ctx, e.EnrollmentID, func(o *domain.Ownership) (*domain.Ownership, error) {
			if o == nil {
				o = fresh
			} else if o.Ref().PartnerID != cmd.PartnerID {
				return nil, apperr.Conflict(CodeInvalidCommand, "enrollment belongs to another partner")
			}
			reason := cmd.Reason
			if reason == "" {
				reason = domain.ReasonRegistration
			}
			var ok bool
			if removedBy != "" && reason != domain.ReasonProfileChange {
				// A later enrollment of a partner whose contact address an
				// upheld dispute removed: nothing is opened or mailed.
				ok, err = o.OpenRemoved(rcpt, cmd.CausationID, removedBy, is, a.d.Clock.Now())
			} else if reason == domain.ReasonProfileChange {
				ok, err = o.OpenForProfileChange(cmd.ProfileChange, rcpt, cmd.CausationID, is, a.d.Policy, a.d.Clock.Now())
			} else {
				ok, err = o.OpenFor(reason, rcpt, cmd.CausationID, is, a.d.Policy, a.d.Clock.Now())
			}
			if err != nil || !ok {
				return nil, err
			}
			cur, _ := o.Current()
			opened = cur.ID == is.ChallengeID && cur.State != domain.StateRemoved
			return o, nil
		})
		if err != nil {
			return res, translate(fmt.Errorf("open challenge for enrollment %s: %w", e.EnrollmentID, err))
		}
		if opened {
			res.Opened = append(res.Opened, OpenedChallenge{EnrollmentID: e.EnrollmentID, ChallengeID: is.ChallengeID})
		}
	}
	return res, nil
}

// latestContact is the contact a change applied after the event of
// sequence seq named (FollowContact kept it), or rcpt, the event's own,
// when none did or the sequence is unknown.
func (a *App) latestContact(ctx context.Context, partnerID string, seq uint64, rcpt domain.Recipient) (domain.Recipient, error) {
	if seq == 0 {
		return rcpt, nil
	}
	latest, at, ok, err := a.d.Repo.LatestContact(ctx, partnerID)
	if err != nil || !ok || at <= seq {
		return rcpt, err
	}
	return latest, nil
}

// partnerFacts reads the partner's other enrollments for what a later
// enrollment takes from them: who registered partnerID, as its first
// enrollment's proof records it ("" when none does), and the review that
// removed addr (normalized) from one of them after an upheld dispute ("" when
// none did), and how many it has.
func (a *App) partnerFacts(ctx context.Context, partnerID, addr string) (registrant, removedBy string, enrollments int, err error) {
	ids, err := a.d.Repo.EnrollmentsByPartner(ctx, partnerID)
	if err != nil {
		return "", "", 0, fmt.Errorf("enrollments of partner %s: %w", partnerID, err)
	}
	for _, id := range ids {
		o, err := a.d.Repo.Get(ctx, id)
		if err != nil {
			return "", "", 0, fmt.Errorf("enrollment %s: %w", id, err)
		}
		if r := o.Ref().RegisteredBy; r != "" && registrant == "" {
			registrant = r
		}
		if review, ok := o.Removal(addr); ok && removedBy == "" {
			removedBy = review
		}
	}
	return registrant, removedBy, len(ids), nil
}
