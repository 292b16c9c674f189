package app

import (
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

func TestInvitationTokens(t *testing.T) {
	stranger, _, _ := domain.NewInvitationToken(rand.Reader)
	otherResellerAdmin := resellerAdmin
	otherResellerAdmin.Subject = "bob-2"
	tests := []struct {
		name     string
		setup    func(e *env, token string) string // returns the token to present
		caller   auth.Principal
		wantCode string
		// replayed is the use that, sent again by the caller who answered,
		// answers as the first time and records nothing (its answer was lost).
		replayed string
	}{
		{"valid", func(_ *env, tok string) string { return tok }, resellerAdmin, "", ""},
		{"unknown", func(*env, string) string { return stranger }, resellerAdmin, CodeInvitationUnknown, ""},
		{"malformed", func(*env, string) string { return "not-a-token" }, resellerAdmin, CodeInvitationUnknown, ""},
		{"addressed to another partner", func(_ *env, tok string) string { return tok }, otherAdmin, CodeInvitationUnknown, ""},
		{"caller without partner", func(_ *env, tok string) string { return tok }, auth.Principal{Subject: "x", Roles: []auth.Role{auth.RolePartnerAdmin}}, CodeInvitationUnknown, ""},
		{"expired, timer not yet fired", func(e *env, tok string) string { e.at(t0.Add(90 * day)); return tok }, resellerAdmin, CodeInvitationExpired, ""},
		{"expired by the timer", func(e *env, tok string) string {
			if _, err := e.app.FireDueTimers(e.ctx, t0.Add(91*day)); err != nil {
				e.t.Fatal(err)
			}
			e.at(t0.Add(91 * day))
			return tok
		}, resellerAdmin, CodeInvitationExpired, ""},
		{"reused after authorise", func(e *env, tok string) string {
			if _, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: tok, Consent: true}); err != nil {
				e.t.Fatal(err)
			}
			return tok
		}, resellerAdmin, CodeInvitationUsed, "authorise"},
		{"reused after decline", func(e *env, tok string) string {
			if err := e.app.Decline(e.ctx, resellerAdmin, DeclineCommand{Token: tok, Reason: "no"}); err != nil {
				e.t.Fatal(err)
			}
			return tok
		}, resellerAdmin, CodeInvitationUsed, "decline"},
		{"reused after another administrator's authorise", func(e *env, tok string) string {
			if _, err := e.app.Authorise(e.ctx, otherResellerAdmin, AuthoriseCommand{Token: tok, Consent: true}); err != nil {
				e.t.Fatal(err)
			}
			return tok
		}, resellerAdmin, CodeInvitationUsed, ""},
		{"reused after authorise, the relationship ended since", func(e *env, tok string) string {
			res, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: tok, Consent: true})
			if err != nil {
				e.t.Fatal(err)
			}
			if _, err := e.app.EndRelationship(e.ctx, resellerAdmin, EndRelationshipCommand{RelationshipID: res.RelationshipID, Reason: "done"}); err != nil {
				e.t.Fatal(err)
			}
			return tok
		}, resellerAdmin, CodeInvitationUsed, ""},
	}
	// Every answer must refuse the same way, so run each case through each use case.
	uses := map[string]func(e *env, p auth.Principal, tok string) error{
		"view": func(e *env, p auth.Principal, tok string) error {
			_, err := e.app.ViewInvitation(e.ctx, p, tok)
			return err
		},
		"authorise": func(e *env, p auth.Principal, tok string) error {
			_, err := e.app.Authorise(e.ctx, p, AuthoriseCommand{Token: tok, Consent: true})
			return err
		},
		"decline": func(e *env, p auth.Principal, tok string) error {
			return e.app.Decline(e.ctx, p, DeclineCommand{Token: tok})
		},
		"defer": func(e *env, p auth.Principal, tok string) error {
			_, err := e.app.Defer(e.ctx, p, tok)
			return err
		},
	}
	for _, tt := range tests {
		for use, call := range uses {
			t.Run(tt.name+"/"+use, func(t *testing.T) {
				e := newEnv(t)
				inv := e.invite(CreateRequestCommand{})
				tok := tt.setup(e, inv.Token)
				e.rels.takeEvents()
				err := call(e, tt.caller, tok)
				if use == tt.replayed {
					wantCode(t, err, "")
					e.expectEvents()
					return
				}
				wantCode(t, err, tt.wantCode)
				if err != nil {
					e.expectEvents()
				}
			})
		}
	}
}

// An administrator whose authorisation's answer was lost sends it again:
// the same grant, nothing recorded twice.
func TestAnAuthorisationSentAgainAnswersTheSameGrant(t *testing.T) {
	e := newEnv(t)
	inv := e.invite(CreateRequestCommand{})
	first, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true})
	if err != nil {
		t.Fatal(err)
	}
	e.rels.takeEvents()
	e.at(t0.Add(time.Hour))
	again, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.RelationshipID != first.RelationshipID || again.GrantID != first.GrantID || !slices.Equal(again.Roles, first.Roles) ||
		!again.StartsAt.Equal(first.StartsAt) || !again.ExpiresAt.Equal(first.ExpiresAt) || again.AutoExtend != first.AutoExtend {
		t.Fatalf("sent again: %+v, first %+v", again, first)
	}
	e.expectEvents()
}

func TestRefusalsRevealNothingAboutTheRequest(t *testing.T) {
	e := newEnv(t)
	inv := e.invite(CreateRequestCommand{})
	e.at(t0.Add(91 * day))
	_, err := e.app.ViewInvitation(e.ctx, resellerAdmin, inv.Token)
	wantCode(t, err, CodeInvitationExpired)
	for _, secret := range []string{"PG-P", "alice", inv.RelationshipID, inv.Token} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q reveals %q", err, secret)
		}
	}
}

func TestViewShowsWhatIsConsentedTo(t *testing.T) {
	e := newEnv(t)
	inv := e.invite(CreateRequestCommand{Roles: []string{"billing_reader", "support_agent"}, DurationDays: 180})
	v, err := e.app.ViewInvitation(e.ctx, resellerUser, inv.Token)
	if err != nil {
		t.Fatal(err)
	}
	if v.ProviderLegalName != "PG-P 株式会社" || v.ProviderAddress.Line1 != "5丁目2番地3" || v.ProviderAddress.PostalCode != "105-0001" {
		t.Errorf("provider facts = %q %+v", v.ProviderLegalName, v.ProviderAddress)
	}
	if !slices.Equal(v.Roles, []string{"billing_reader", "support_agent"}) || v.DurationDays != 180 || v.AutoExtend {
		t.Errorf("terms = %v %d %v", v.Roles, v.DurationDays, v.AutoExtend)
	}
	for _, want := range []string{"PG-P 株式会社", "billing_reader, support_agent", "180 days"} {
		if !strings.Contains(v.ConsentStatement, want) {
			t.Errorf("consent statement %q lacks %q", v.ConsentStatement, want)
		}
	}
	if v.Status != domain.StatusOpen || !v.ExpiresAt.Equal(t0.Add(90*day)) {
		t.Errorf("status %s expires %v", v.Status, v.ExpiresAt)
	}
	e.expectEvents()
}

func TestAuthorise(t *testing.T) {
	t.Run("consent flag missing", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{})
		_, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token})
		wantCode(t, err, CodeConsentRequired)
		e.expectEvents()
		if _, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true}); err != nil {
			t.Fatalf("token unusable after a refused attempt: %v", err)
		}
	})
	t.Run("reseller not active", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{ResellerLocationID: "PL-Q100-0000-007"})
		_, err := e.app.Authorise(e.ctx, pendingReseller, AuthoriseCommand{Token: inv.Token, Consent: true})
		wantCode(t, err, CodeResellerNotActive)
		e.expectEvents()
		// Accepting the reseller agreement later makes the same invitation acceptable.
		e.enroll("PG-Q", domain.ProgramIndirectReseller, domain.EnrollmentActive, t0)
		if _, err := e.app.Authorise(e.ctx, pendingReseller, AuthoriseCommand{Token: inv.Token, Consent: true}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("provider lost its standing", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{})
		e.enroll("PG-P", domain.ProgramIndirectProvider, domain.EnrollmentRejected, t0)
		_, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true})
		wantCode(t, err, CodeProviderNotActive)
	})
	t.Run("partner_user may look but not authorise", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{})
		_, err := e.app.Authorise(e.ctx, resellerUser, AuthoriseCommand{Token: inv.Token, Consent: true})
		wantCode(t, err, "auth.role_required")
	})
	t.Run("creates the relationship and the grant", func(t *testing.T) {
		e := newEnv(t)
		inv := e.invite(CreateRequestCommand{Roles: []string{"customer_management"}, DurationDays: 30})
		e.at(t0.Add(day))
		g, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true})
		if err != nil {
			t.Fatal(err)
		}
		if !g.ExpiresAt.Equal(t0.Add(31*day)) || !slices.Equal(g.Roles, []string{"customer_management"}) {
			t.Errorf("grant = %+v", g)
		}
		evs := e.rels.takeRaw()
		if len(evs) != 2 {
			t.Fatalf("events = %v", evs)
		}
		ag, ok := evs[1].(domain.AccessGranted)
		if _, acc := evs[0].(domain.RequestAccepted); !acc || !ok || ag.GrantID != g.GrantID || !ag.ExpiresAt.Equal(g.ExpiresAt) {
			t.Errorf("events = %+v", evs)
		}
	})
}

func TestDeferThenReminderThenAuthorise(t *testing.T) {
	e := newEnv(t)
	inv := e.invite(CreateRequestCommand{})
	d, err := e.app.Defer(e.ctx, resellerAdmin, inv.Token)
	if err != nil {
		t.Fatal(err)
	}
	if !d.ExpiresAt.Equal(inv.ExpiresAt) {
		t.Errorf("deferral moved the expiry to %v", d.ExpiresAt)
	}
	e.expectEvents("RequestDeferred")
	for _, at := range []int{82, 83, 84} {
		if _, err := e.app.FireDueTimers(e.ctx, t0.Add(time.Duration(at)*day)); err != nil {
			t.Fatal(err)
		}
	}
	e.expectEvents("RequestReminderDue")
	e.at(t0.Add(85 * day))
	if _, err := e.app.Authorise(e.ctx, resellerAdmin, AuthoriseCommand{Token: inv.Token, Consent: true}); err != nil {
		t.Fatal(err)
	}
	e.expectEvents("RequestAccepted", "AccessGranted")
}
