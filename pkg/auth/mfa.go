package auth

import (
	"slices"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// AMRMultiFactor is the amr value (RFC 8176) of a multi-factor sign-in.
const AMRMultiFactor = "mfa"

// CodeMFARequired refuses a privileged partner action to a caller whose
// token does not say it passed multi-factor authentication (403).
const CodeMFARequired = "auth.mfa_required"

// HasMFA reports whether p's token says it signed in with multi-factor
// authentication (amr contains "mfa").
func (p Principal) HasMFA() bool { return slices.Contains(p.AMR, AMRMultiFactor) }

// MFAPolicy is the partner security requirement of seed 003: every user of
// a partner uses MFA, and the privileged partner actions (accepting an
// agreement, authorising a distributor's delegated administration, asking
// for or granting wider delegated roles) are refused without it. Required
// is AUTH_REQUIRE_MFA (true unless configured off).
type MFAPolicy struct {
	Required bool
}

// Require refuses action (a short name, e.g. "accept_agreement") with
// 403 auth.mfa_required unless p passed MFA or the policy is off.
func (m MFAPolicy) Require(p Principal, action string) error {
	if !m.Required || p.HasMFA() {
		return nil
	}
	return apperr.Forbidden(CodeMFARequired,
		"this action needs multi-factor authentication: sign in again with MFA (the token's amr claim must contain \"mfa\")").
		With("action", action).With("required_amr", []string{AMRMultiFactor})
}
