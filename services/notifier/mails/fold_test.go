package mails_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/partnerhub/onboarding/services/notifier/mails"
)

func standing(s mails.Standing) mails.Waiting {
	b, _ := json.Marshal(mails.Data{Standing: &s})
	return mails.Waiting{Template: mails.StandingChanged, Data: b}
}

// TestFold: standing changes fold into one change from the first's From
// to the last's To, the reasons added and lifted computed against the
// reasons in force before the first; no change left is no news. An access
// hold and its release cancel out; two of a kind, or other mails, leave
// the newer as it is.
func TestFold(t *testing.T) {
	for _, c := range []struct {
		name         string
		older, newer mails.Standing
		want         *mails.Standing // nil: no news
	}{
		{"a hold placed and lifted",
			mails.Standing{From: "active", To: "suspended", Reasons: []string{"compliance_hold"}, Added: []string{"compliance_hold"}},
			mails.Standing{From: "suspended", To: "active", Lifted: []string{"compliance_hold"}}, nil},
		{"a suspension that gains a reason",
			mails.Standing{From: "active", To: "suspended", Reasons: []string{"compliance_hold"}, Added: []string{"compliance_hold"}},
			mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"compliance_hold", "verification_revoked"}, Added: []string{"verification_revoked"}},
			&mails.Standing{From: "active", To: "suspended", Reasons: []string{"compliance_hold", "verification_revoked"},
				Added: []string{"compliance_hold", "verification_revoked"}}},
		{"one reason of two lifted, another added",
			mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant"}, Lifted: []string{"compliance_hold"}},
			mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant", "verification_revoked"}, Added: []string{"verification_revoked"}},
			&mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant", "verification_revoked"},
				Added: []string{"verification_revoked"}, Lifted: []string{"compliance_hold"}}},
		{"a reason lifted and placed again",
			mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant"}, Lifted: []string{"compliance_hold"}},
			mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant", "compliance_hold"}, Added: []string{"compliance_hold"}},
			nil},
		{"a suspension, then closed",
			mails.Standing{From: "active", To: "suspended", Reasons: []string{"compliance_hold"}, Added: []string{"compliance_hold"}},
			mails.Standing{From: "suspended", To: "closed", Reasons: []string{"closed_by_operator"}, Added: []string{"closed_by_operator"}, Lifted: []string{"compliance_hold"}},
			&mails.Standing{From: "active", To: "closed", Reasons: []string{"closed_by_operator"}, Added: []string{"closed_by_operator"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, news, err := mails.Fold(standing(c.older), standing(c.newer))
			if err != nil {
				t.Fatal(err)
			}
			if news != (c.want != nil) {
				t.Fatalf("news %v, want %v", news, c.want != nil)
			}
			if c.want == nil {
				return
			}
			var got mails.Data
			if err := json.Unmarshal(data, &got); err != nil || got.Standing == nil {
				t.Fatalf("%s (%v)", data, err)
			}
			s := *got.Standing
			if s.From != c.want.From || s.To != c.want.To || !slices.Equal(s.Reasons, c.want.Reasons) ||
				!slices.Equal(s.Added, c.want.Added) || !slices.Equal(s.Lifted, c.want.Lifted) {
				t.Errorf("folded %+v, want %+v", s, *c.want)
			}
		})
	}
	held := mails.Waiting{Template: mails.AccessSuspended, Data: []byte(`{"relationship":{"grant_id":"g1"}}`)}
	back := mails.Waiting{Template: mails.AccessReinstated, Data: []byte(`{"relationship":{"grant_id":"g1","expires_at":"2027-01-01T00:00:00Z"}}`)}
	for _, c := range []struct {
		older, newer mails.Waiting
		news         bool
	}{{held, back, false}, {back, held, false}, {held, held, true}, {back, back, true}} {
		data, news, err := mails.Fold(c.older, c.newer)
		if err != nil || news != c.news || string(data) != string(c.newer.Data) {
			t.Errorf("%s then %s: news %v (%v) with %s, want %v with the newer's data", c.older.Template, c.newer.Template, news, err, data, c.news)
		}
	}
}
