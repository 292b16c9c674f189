package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

func TestPrincipalForEvent(t *testing.T) {
	d, err := ParseDirectory([]byte(`{
		"upstream-portal": {"roles": ["upstream_system"]},
		"verifier-bot": {"name": "Verifier", "roles": ["verifier"]},
		"alice": {"type": "user", "partner_id": "PG-0001", "roles": ["verifier"]},
		"crm-west": {"roles": ["upstream_system"], "bus_user": "crm-west"},
		"kyb": {"roles": ["verifier"], "bus_user": "kyb-checks"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, authtype, authid string
		publisher              string
		wantKind               apperr.Kind
		wantCode               string
		want                   Principal
	}{
		{name: "service account", authtype: "service_account", authid: "verifier-bot",
			want: Principal{Kind: KindService, Subject: "verifier-bot", Name: "Verifier", Roles: []Role{RoleVerifier}}},
		{name: "user", authtype: "user", authid: "alice",
			want: Principal{Kind: KindUser, Subject: "alice", PartnerID: "PG-0001", Roles: []Role{RoleVerifier}}},
		{name: "no extensions", wantKind: apperr.KindUnauthenticated, wantCode: CodePrincipalMissing},
		{name: "authid only", authid: "verifier-bot", wantKind: apperr.KindUnauthenticated, wantCode: CodePrincipalMissing},
		{name: "unknown id", authtype: "service_account", authid: "mallory", wantKind: apperr.KindForbidden, wantCode: CodePrincipalUnknown},
		{name: "known id under the wrong authtype", authtype: "user", authid: "verifier-bot", wantKind: apperr.KindForbidden, wantCode: CodePrincipalUnknown},
		{name: "unsupported authtype", authtype: "app_user", authid: "alice", wantKind: apperr.KindForbidden, wantCode: CodePrincipalUnknown},
		{name: "bound account from its bus user", authtype: "service_account", authid: "kyb", publisher: "kyb-checks",
			want: Principal{Kind: KindService, Subject: "kyb", Roles: []Role{RoleVerifier}}},
		{name: "bound account from the shared bus user", authtype: "service_account", authid: "kyb",
			wantKind: apperr.KindForbidden, wantCode: CodePrincipalNotPublisher},
		{name: "bound account from another bound user", authtype: "service_account", authid: "kyb", publisher: "crm-west",
			wantKind: apperr.KindForbidden, wantCode: CodePrincipalNotPublisher},
		{name: "shared account from a bound user", authtype: "service_account", authid: "verifier-bot", publisher: "kyb-checks",
			wantKind: apperr.KindForbidden, wantCode: CodePrincipalNotPublisher},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := d.PrincipalForEvent(tc.authtype, tc.authid, tc.publisher)
			if tc.wantCode != "" {
				if apperr.KindOf(err) != tc.wantKind || codeOf(err) != tc.wantCode || !apperr.Permanent(err) {
					t.Fatalf("err = %v, want %v %s", err, tc.wantKind, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tc.want.Kind || p.Subject != tc.want.Subject || p.Name != tc.want.Name ||
				p.PartnerID != tc.want.PartnerID || !equalRoles(p.Roles, tc.want.Roles) {
				t.Fatalf("principal = %+v, want %+v", p, tc.want)
			}
			if at, id := EventAuth(p); at != tc.authtype || id != tc.authid {
				t.Fatalf("EventAuth = %s/%s, want %s/%s", at, id, tc.authtype, tc.authid)
			}
		})
	}
}

func TestDirectoryValidation(t *testing.T) {
	_, err := ParseDirectory([]byte(`{"a": {"roles": []}, "b": {"roles": ["root"]}, "c": {"type": "robot", "roles": ["operator"]},
		"d": {"roles": ["operator"], "bus_user": "ops-bus"}, "e": {"roles": ["verifier"], "bus_user": "Crm West"},
		"f": {"roles": ["verifier"], "bus_user": "upstream"}, "g": {"roles": ["upstream_system", "verifier"], "bus_user": "both"},
		"h": {"roles": ["verifier"], "bus_user": "mixed"}, "i": {"roles": ["upstream_system"], "bus_user": "mixed"}}`))
	if err == nil {
		t.Fatal("bad directory accepted")
	}
	for _, w := range []string{`"a" has no roles`, `unknown role "root"`, `type "robot"`,
		`"d" is bound to bus user "ops-bus": it must have one role`, `bus_user "Crm West"`,
		`bus_user "upstream", a user of the backend itself`, `"g" is bound to bus user "both"`,
		`bus user "mixed" is bound to accounts of different roles (h, i)`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "principals.json")
	if err := os.WriteFile(path, []byte(`{"ops": {"roles": ["operator"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadDirectory(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := fromFile.PrincipalForEvent(AuthTypeServiceAccount, "ops", ""); err != nil || !p.Has(RoleOperator) {
		t.Fatalf("from file: %+v %v", p, err)
	}
	inline, err := LoadDirectory(path, `{"bot": {"roles": ["verifier"]}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inline.PrincipalForEvent(AuthTypeServiceAccount, "ops", ""); err == nil {
		t.Fatal("inline JSON must take precedence over the file")
	}
	if _, err := LoadDirectory("", ""); err == nil {
		t.Fatal("an unconfigured directory must be an error, not a silent dev default")
	}
}

func TestDevDirectory(t *testing.T) {
	d := DevDirectory()
	for id, role := range map[string]Role{"upstream-portal": RoleUpstreamSystem, "verifier-bot": RoleVerifier, "ops": RoleOperator} {
		p, err := d.PrincipalForEvent(AuthTypeServiceAccount, id, "")
		if err != nil || !p.Has(role) || p.Kind != KindService {
			t.Errorf("%s: %+v %v", id, p, err)
		}
	}
	want := map[string]string{"crm-west": "upstream", "kyb-checks": "verifier"}
	if got := d.BusUsers(); len(got) != len(want) || got["crm-west"] != want["crm-west"] || got["kyb-checks"] != want["kyb-checks"] {
		t.Errorf("bound bus users %v, want %v", got, want)
	}
}

// An event's claims declare the roles its actor acted in; only roles none
// of which is staff's make it an actor of the partner's side.
func TestClaimsTellStaffFromThePartnerSide(t *testing.T) {
	for _, c := range []struct {
		p           Principal
		partnerSide bool
	}{
		{Principal{Subject: "admin-1", Roles: []Role{RolePartnerAdmin}}, true},
		{Principal{Subject: "p-1", Roles: []Role{RoleProviderAdmin}}, true},
		{Principal{Kind: KindService, Subject: "upstream-portal", Roles: []Role{RoleUpstreamSystem}}, true},
		{Principal{Subject: "ops-1", Roles: []Role{RoleOperator}}, false},
		{Principal{Kind: KindService, Subject: "verifier-bot", Roles: []Role{RoleVerifier}}, false},
		{Principal{Subject: "both", Roles: []Role{RolePartnerAdmin, RoleOperator}}, false},
		{Principal{Kind: KindService, Subject: "registration"}, false},
	} {
		claims := EventClaims(c.p)
		if got := ClaimsOfPartnerSide(claims); got != c.partnerSide {
			t.Errorf("%s: claims %q read as of the partner's side %v, want %v", c.p.Subject, claims, got, c.partnerSide)
		}
	}
	for _, claims := range []string{"", "{", `{"roles":[]}`, `{"roles":"partner_admin"}`, `["partner_admin"]`} {
		if ClaimsOfPartnerSide(claims) {
			t.Errorf("claims %q read as of the partner's side", claims)
		}
	}
}
