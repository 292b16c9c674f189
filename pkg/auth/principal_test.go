package auth

import "testing"

func TestActsFor(t *testing.T) {
	up := func(sub string) Principal {
		return Principal{Kind: KindService, Subject: sub, Roles: []Role{RoleUpstreamSystem}}
	}
	for _, c := range []struct {
		name       string
		p          Principal
		registrant string
		want       bool
	}{
		{"operator", Principal{Subject: "ops", Roles: []Role{RoleOperator}}, "upstream-a", true},
		{"verifier", Principal{Subject: "vera", Roles: []Role{RoleVerifier}}, "upstream-a", true},
		{"the registrant", up("upstream-a"), "upstream-a", true},
		{"another upstream system", up("upstream-b"), "upstream-a", false},
		{"an upstream system, registrant unknown", up("upstream-a"), "", false},
		{"the partner's admin", Principal{Subject: "u1", PartnerID: "PG-1", Roles: []Role{RolePartnerAdmin}}, "upstream-a", true},
		{"another partner's admin", Principal{Subject: "u2", PartnerID: "PG-2", Roles: []Role{RolePartnerAdmin}}, "upstream-a", false},
		{"a partner role without a partner", Principal{Subject: "u3", Roles: []Role{RolePartnerAdmin}}, "", false},
	} {
		if got := c.p.ActsFor("PG-1", c.registrant); got != c.want {
			t.Errorf("%s: ActsFor = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestActsForRecord(t *testing.T) {
	up := Principal{Kind: KindService, Subject: "upstream-a", Roles: []Role{RoleUpstreamSystem}}
	if !up.ActsForRecord("PG-1", "") {
		t.Error("a record without its registrant is closed to an upstream system (it was open before the registrant was kept)")
	}
	if up.ActsForRecord("PG-1", "upstream-b") || !up.ActsForRecord("PG-1", "upstream-a") {
		t.Error("a record with its registrant is not ActsFor")
	}
	admin := Principal{Subject: "u", PartnerID: "PG-2", Roles: []Role{RolePartnerAdmin}}
	if admin.ActsForRecord("PG-1", "") {
		t.Error("another partner's admin acts for a record without its registrant")
	}
}
