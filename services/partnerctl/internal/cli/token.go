package cli

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
)

func roleNames() string {
	names := make([]string, len(auth.KnownRoles))
	for i, r := range auth.KnownRoles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

type tokenOptions struct {
	roles    []string
	partner  string
	sub      string
	name     string
	email    string
	kind     string
	ttl      time.Duration
	issuer   string
	audience string
	amr      []string
}

func newTokenCmd(g *globals) *cobra.Command {
	var o tokenOptions
	cmd := &cobra.Command{
		Use:   "token --role ROLE [--as-partner ID] [--as-sub ID] [flags]",
		Short: "Mint a development bearer token",
		Long: `Mint a bearer JWT signed with the development key and print it on stdout.

The token carries the claims the services read: sub, name, email, partner_id,
roles, amr and kind (see the README, "Who may do what"). amr defaults to
pwd,mfa: partner tenants sign in with multi-factor authentication, and the
privileged partner actions refuse tokens without it (pass --amr pwd to see
auth.mfa_required). Roles: ` + roleNames() + `.
partner_admin and partner_user act for one partner and need --as-partner.
--as-sub and --as-partner are the global flags that name the subject and partner
of every minted development token (--sub and --partner are deprecated aliases).
The signing key is created on first use if 'partnerctl keys init' has not run.`,
		Example: `  # a partner administrator of PG-PRTA-HD7W-NYE (accepts agreements, answers requests)
  partnerctl token --role partner_admin --as-partner PG-PRTA-HD7W-NYE --as-sub user-1 \
    --name "Ann Admin" --email ann@example.com --ttl 1h

  # a verifier, and an operator
  partnerctl token --role verifier --as-sub vera
  partnerctl token --role operator

  # an upstream system (a service principal) submitting registrations
  partnerctl token --role upstream_system --kind service --as-sub upstream-portal

  # several roles at once
  partnerctl token --role partner_user,provider_admin --as-partner PG-ER7G-1YVC-K69`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.partner = cmp.Or(o.partner, g.asPartner)
			o.sub = cmp.Or(o.sub, g.asSub)
			p, err := o.principal()
			if err != nil {
				return err
			}
			signer, created, err := ensureKeys(g.keysDir)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(g.stderr, "created development signing key in %s\n", g.keysDir)
			}
			tok, err := signer.Mint(p, o.issuer, o.audience, o.ttl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.roles, "role", nil, "role(s) of the caller, repeatable or comma-separated (required)")
	// --partner and --sub were this command's names for what the global
	// --as-partner and --as-sub name for every other command.
	f.StringVar(&o.partner, "partner", "", "")
	f.StringVar(&o.sub, "sub", "", "")
	deprecate(f, "partner", "use --as-partner")
	deprecate(f, "sub", "use --as-sub")
	f.StringVar(&o.name, "name", "", "display name")
	f.StringVar(&o.email, "email", "", "e-mail address")
	f.StringVar(&o.kind, "kind", string(auth.KindUser), "principal kind: user or service")
	f.DurationVar(&o.ttl, "ttl", time.Hour, "lifetime of the token, e.g. 15m, 1h, 24h")
	f.StringVar(&o.issuer, "issuer", auth.DevIssuer, "iss claim (must match the services' configuration)")
	f.StringVar(&o.audience, "audience", auth.DevAudience, "aud claim (must match the services' configuration)")
	f.StringSliceVar(&o.amr, "amr", []string{"pwd", auth.AMRMultiFactor}, "authentication methods (amr claim); without mfa the privileged partner actions are refused")
	return cmd
}

// principal checks the flags and builds the principal to mint for; every
// complaint is a usage error.
func (o tokenOptions) principal() (auth.Principal, error) {
	var errs []error
	var roles []auth.Role
	for _, r := range o.roles {
		role := auth.Role(strings.TrimSpace(r))
		if !slices.Contains(auth.KnownRoles, role) {
			errs = append(errs, fmt.Errorf("unknown role %q (known: %s)", r, roleNames()))
			continue
		}
		roles = append(roles, role)
	}
	if len(o.roles) == 0 {
		errs = append(errs, errors.New("at least one --role is required"))
	}
	partnerRole := slices.Contains(roles, auth.RolePartnerAdmin) || slices.Contains(roles, auth.RolePartnerUser)
	if partnerRole && o.partner == "" {
		errs = append(errs, errors.New("roles partner_admin and partner_user need --as-partner"))
	}
	if o.kind != string(auth.KindUser) && o.kind != string(auth.KindService) {
		errs = append(errs, fmt.Errorf("--kind %q must be user or service", o.kind))
	}
	if o.ttl <= 0 || o.ttl > maxTTL {
		errs = append(errs, fmt.Errorf("--ttl %s must be positive and at most %s", o.ttl, maxTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return auth.Principal{}, usageError{err}
	}
	sub := o.sub
	if sub == "" {
		sub = "dev-" + strings.ReplaceAll(string(roles[0]), "_", "-")
	}
	return auth.Principal{Kind: auth.Kind(o.kind), Subject: sub, Name: o.name, Email: o.email,
		PartnerID: o.partner, Roles: roles, AMR: o.amr}, nil
}

func newKeysCmd(g *globals) *cobra.Command {
	keys := group("keys", "Manage the development signing key", "")
	keys.AddCommand(&cobra.Command{
		Use:   "init",
		Short: "Create the development signing key and its public JWKS (once)",
		Long: `Create an ES256 private key (mode 0600) and the public jwks.json next to it.
Running it again keeps the existing key, so tokens already minted stay valid.
Point a service at the key with its JWKS file setting (jwks.json in this directory).`,
		Example: `  partnerctl keys init
  partnerctl keys init --keys /tmp/partnerhub-keys`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			signer, created, err := ensureKeys(g.keysDir)
			if err != nil {
				return err
			}
			verb := "kept existing"
			if created {
				verb = "created"
			}
			fmt.Fprintf(g.stdout, "%s key %s\njwks: %s\n", verb, signer.KeyID(), auth.DevJWKSPath(g.keysDir))
			return nil
		},
	})
	return keys
}

// ensureKeys wraps auth.EnsureDevKeys and says whether the key is new.
func ensureKeys(dir string) (*auth.Signer, bool, error) {
	_, statErr := os.Stat(auth.DevPrivateKeyPath(dir))
	s, err := auth.EnsureDevKeys(dir)
	if err != nil {
		return nil, false, fmt.Errorf("development keys in %s: %w", dir, err)
	}
	return s, statErr != nil, nil
}
