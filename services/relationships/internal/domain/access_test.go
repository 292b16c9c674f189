package domain

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"testing"
)

func TestNewAccessTerms(t *testing.T) {
	tests := []struct {
		name    string
		roles   RoleSet
		days    int
		auto    bool
		wantErr error
	}{
		{"one day", RoleSet{RoleBillingReader}, 1, false, nil},
		{"two years", RoleSet{RoleBillingReader}, 730, true, nil},
		{"zero days", RoleSet{RoleBillingReader}, 0, false, ErrDurationOutOfRange},
		{"over two years", RoleSet{RoleBillingReader}, 731, false, ErrDurationOutOfRange},
		{"no roles", nil, 30, false, ErrNoRoles},
		{"unknown role", RoleSet{"global_admin"}, 30, false, ErrUnknownRole},
		{"full admin without auto-extension", RoleSet{RoleFullAdministrator}, 30, false, nil},
		{"full admin with auto-extension", RoleSet{RoleSupportAgent, RoleFullAdministrator}, 30, true, ErrAutoExtendFullAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAccessTerms(tt.roles, tt.days, tt.auto)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRoleSetIsSortedAndDeduplicated(t *testing.T) {
	rs, err := NewRoleSet(RoleSupportAgent, RoleBillingReader, RoleSupportAgent)
	if err != nil {
		t.Fatal(err)
	}
	if want := (RoleSet{RoleBillingReader, RoleSupportAgent}); !slices.Equal(rs, want) {
		t.Errorf("got %v, want %v", rs, want)
	}
}

func TestDefaultRolesAreLeastPrivilege(t *testing.T) {
	d := DefaultRoles()
	if d.Has(RoleFullAdministrator) || d.Has(RoleHelpdeskAdmin) {
		t.Errorf("default roles %v include an administrative role", d)
	}
	if _, err := NewRoleSet(d...); err != nil {
		t.Errorf("default roles not in catalog: %v", err)
	}
}

func TestInvitationToken(t *testing.T) {
	tok, h, err := NewInvitationToken(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("token not base64url: %v", err)
	}
	if len(raw)*8 < 128 {
		t.Errorf("token has %d bits", len(raw)*8)
	}
	if got, ok := HashToken(tok); !ok || got != h {
		t.Error("hash of presented token differs from stored hash")
	}
	if bytes.Contains([]byte(h.String()), []byte(tok)) {
		t.Error("hash contains the token")
	}
	tok2, h2, _ := NewInvitationToken(rand.Reader)
	if tok2 == tok || h2 == h {
		t.Error("two tokens are equal")
	}
	for _, bad := range []string{"", "short", tok + "A", "!!" + tok[2:]} {
		if _, ok := HashToken(bad); ok {
			t.Errorf("malformed token %q accepted", bad)
		}
	}
	if _, _, err := NewInvitationToken(bytes.NewReader(make([]byte, 4))); err == nil {
		t.Error("short entropy source accepted")
	}
}
