package mails_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/partnerhub/onboarding/services/notifier/mails"
)

func standing(s mails.Standing) mails.News {
	b, _ := json.Marshal(mails.Data{Standing: &s})
	return mails.News{Template: mails.StandingChanged, Data: b}
}

// TestStatesAndRetell: a standing change found the standing it came from
// with its reasons then in force (those now, without those added, with
// those lifted) and left the new one; access news found and left held or
// active. Retold from an earlier standing, a change says what was added
// and lifted since that one; access news reads the same.
func TestStatesAndRetell(t *testing.T) {
	hold := standing(mails.Standing{From: "active", To: "suspended", Reasons: []string{"compliance_hold"}, Added: []string{"compliance_hold"}})
	lift := standing(mails.Standing{From: "suspended", To: "active", Lifted: []string{"compliance_hold"}})
	more := standing(mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"verification_revoked", "compliance_hold"},
		Added: []string{"verification_revoked"}})
	swap := standing(mails.Standing{From: "suspended", To: "suspended", Reasons: []string{"mfa_noncompliant", "verification_revoked"},
		Added: []string{"verification_revoked"}, Lifted: []string{"compliance_hold"}})
	for _, c := range []struct {
		n             mails.News
		before, after string
	}{
		{hold, "active|", "suspended|compliance_hold"},
		{lift, "suspended|compliance_hold", "active|"},
		{more, "suspended|compliance_hold", "suspended|compliance_hold,verification_revoked"},
		{swap, "suspended|compliance_hold,mfa_noncompliant", "suspended|mfa_noncompliant,verification_revoked"},
		{mails.News{Template: mails.AccessSuspended}, "active", "held"},
		{mails.News{Template: mails.AccessReinstated}, "held", "active"},
	} {
		before, after, err := mails.States(c.n)
		if err != nil || before != c.before || after != c.after {
			t.Errorf("%s: %q → %q (%v), want %q → %q", c.n.Data, before, after, err, c.before, c.after)
		}
	}
	if _, _, err := mails.States(mails.News{Template: mails.Invitation}); err == nil {
		t.Error("an invitation has states")
	}

	for _, c := range []struct {
		from          string
		n             mails.News
		wantFrom      string
		added, lifted []string
	}{
		{"active|", more, "active", []string{"verification_revoked", "compliance_hold"}, nil},
		{"suspended|compliance_hold,mfa_noncompliant", more, "suspended", []string{"verification_revoked"}, []string{"mfa_noncompliant"}},
		{"active|", swap, "active", []string{"mfa_noncompliant", "verification_revoked"}, nil},
	} {
		b, err := mails.Retell(c.from, c.n)
		var d mails.Data
		if err == nil {
			err = json.Unmarshal(b, &d)
		}
		if err != nil || d.Standing == nil {
			t.Fatalf("retell from %s: %s (%v)", c.from, b, err)
		}
		s := *d.Standing
		if s.From != c.wantFrom || !slices.Equal(s.Added, c.added) || !slices.Equal(s.Lifted, c.lifted) {
			t.Errorf("retold from %s: from %s, added %v, lifted %v; want from %s, added %v, lifted %v",
				c.from, s.From, s.Added, s.Lifted, c.wantFrom, c.added, c.lifted)
		}
	}
	access := mails.News{Template: mails.AccessReinstated, Data: []byte(`{"relationship":{"grant_id":"g1"}}`)}
	if b, err := mails.Retell("held", access); err != nil || string(b) != string(access.Data) {
		t.Errorf("access news retold: %s (%v)", b, err)
	}
}
