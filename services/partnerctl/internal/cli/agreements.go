package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
)

const agreementsLong = `Each program but partner_network needs its agreement accepted by the partner's
administrator before the enrollment becomes active (after verification approves).
Operators publish versions; 'agreements list' shows them, 'agreements accept'
records an acceptance, 'partners status' tells whether it is in effect.`

func newAgreementsCmd(g *globals) *cobra.Command {
	ag := group("agreements", "List agreement versions and accept them (as a partner administrator)", agreementsLong, "agreement")
	ag.AddCommand(newAgreementsListCmd(g), newAgreementsAcceptCmd(g))
	return ag
}

// versionItem is one of GET /v1/agreements/versions (agreements' versionJSON).
type versionItem struct {
	ID            string     `json:"id"`
	Program       string     `json:"program"`
	Name          string     `json:"name"`
	Languages     []string   `json:"languages"`
	Markets       []string   `json:"markets"`
	EffectiveFrom time.Time  `json:"effective_from"`
	Policy        string     `json:"policy"`
	PublishedAt   time.Time  `json:"published_at"`
	RetiredAt     *time.Time `json:"retired_at"`
}

func newAgreementsListCmd(g *globals) *cobra.Command {
	var program, market, partner string
	var retired bool
	cmd := &cobra.Command{
		Use:   "list [--program P] [--market M] | --partner PG-…",
		Short: "List published agreement versions, or the agreements a partner signed",
		Long: `Without --partner: GET /v1/agreements/versions — the versions a partner may accept
(the id is what 'agreements accept --version' takes), filtered by program and market.
With --partner: GET /v1/partners/{id}/agreements — what that partner accepted, per
program, newest first, with who accepted and whether it is current or suspended.
Acts as an operator.`,
		Example: `  partnerctl agreements list --program indirect_reseller --market JP
  partnerctl agreements list --partner PG-PRTA-HD7W-NYE
  partnerctl agreements list -o json | jq -r '.versions[].id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if partner != "" && (program != "" || market != "" || retired) {
				return usagef("--partner lists what a partner signed; it takes no --program, --market or --include-retired")
			}
			tok, err := g.bearer(caller{role: auth.RoleOperator})
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			if partner != "" {
				return g.listSigned(cmd, tok, partner)
			}
			q := url.Values{}
			if program != "" {
				q.Set("program", program)
			}
			if market != "" {
				q.Set("market", market)
			}
			if retired {
				q.Set("include_retired", "true")
			}
			u := g.urls.Agreements + "/v1/agreements/versions"
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
			var out struct {
				Versions []versionItem `json:"versions"`
			}
			res, err := g.callJSON(ctx, request{method: "GET", url: u, token: tok}, &out)
			if err != nil {
				return err
			}
			if g.json() {
				writeRaw(g.stdout, res.body)
				return nil
			}
			rows := make([][]string, 0, len(out.Versions))
			for _, v := range out.Versions {
				rows = append(rows, []string{v.ID, v.Program, v.Name, strings.Join(v.Markets, ","), strings.Join(v.Languages, ","),
					when(v.EffectiveFrom), v.Policy, whenPtr(v.RetiredAt)})
			}
			return table(g.stdout, []string{"VERSION", "PROGRAM", "NAME", "MARKETS", "LANGUAGES", "EFFECTIVE FROM", "POLICY", "RETIRED"}, rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&program, "program", "", "only this program, e.g. indirect_reseller")
	f.StringVar(&market, "market", "", "only versions for this market, e.g. JP")
	f.BoolVar(&retired, "include-retired", false, "include retired versions")
	f.StringVar(&partner, "partner", "", "list what this partner signed instead")
	return cmd
}

func (g *globals) listSigned(cmd *cobra.Command, tok, partner string) error {
	ctx, cancel := g.withTimeout(cmd.Context())
	defer cancel()
	var out struct {
		PartnerID  string `json:"partner_id"`
		LocationID string `json:"location_id"`
		Market     string `json:"market"`
		Programs   []struct {
			Program    string `json:"program"`
			Agreements []struct {
				AcceptanceID string    `json:"acceptance_id"`
				VersionID    string    `json:"version_id"`
				Name         string    `json:"name"`
				AcceptedAt   time.Time `json:"accepted_at"`
				EffectiveAt  time.Time `json:"effective_at"`
				AcceptedBy   struct {
					UserID string `json:"user_id"`
					Name   string `json:"name"`
				} `json:"accepted_by"`
				Channel   string `json:"channel"`
				Current   bool   `json:"current"`
				Suspended bool   `json:"suspended"`
			} `json:"agreements"`
		} `json:"programs"`
	}
	res, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Agreements + "/v1/partners/" + url.PathEscape(partner) + "/agreements", token: tok}, &out)
	if err != nil {
		return err
	}
	if g.json() {
		writeRaw(g.stdout, res.body)
		return nil
	}
	fmt.Fprintf(g.stdout, "partner %s, location %s, market %s\n\n", out.PartnerID, out.LocationID, out.Market)
	var rows [][]string
	for _, p := range out.Programs {
		for _, a := range p.Agreements {
			state := "superseded"
			switch {
			case a.Suspended:
				state = "suspended"
			case a.Current:
				state = "current"
			}
			rows = append(rows, []string{p.Program, a.VersionID, state, when(a.AcceptedAt), firstNonEmpty(a.AcceptedBy.Name, a.AcceptedBy.UserID),
				a.Channel, a.AcceptanceID})
		}
	}
	return table(g.stdout, []string{"PROGRAM", "VERSION", "STATE", "ACCEPTED", "BY", "CHANNEL", "ACCEPTANCE"}, rows)
}

func newAgreementsAcceptCmd(g *globals) *cobra.Command {
	var version, market string
	cmd := &cobra.Command{
		Use:   "accept PG-… --version VERSION [--market M]",
		Short: "Accept an agreement version for a partner (as its administrator)",
		Long: `POST /v1/partners/{id}/agreements/acceptances with {"version_id", "market"} as the
partner's administrator (role partner_admin; with a development token the partner
is PG-… and the subject partnerctl-partner-admin, or --as-sub). The acceptance is
evidence: who, when, which text (its hash), from where — it is never edited.
Accepting the same version again answers with the existing acceptance (exit 0).
The market defaults to the partner's (read from registration with the same token).
Refusals exit 4 with the reason (e.g. agreements.verification_not_approved).`,
		Example: `  partnerctl agreements list --program indirect_reseller --market JP
  partnerctl agreements accept PG-PRTA-HD7W-NYE --version indirect_reseller-2025-01 --as-sub ichiro`,
		Args: exactArgs("PARTNER_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" {
				return usagef("--version is required ('partnerctl agreements list' shows them)")
			}
			partner := args[0]
			tok, err := g.bearer(caller{role: auth.RolePartnerAdmin, partner: partner})
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			if market == "" {
				var p struct {
					Market string `json:"market"`
				}
				if _, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Registration + "/v1/partners/" + url.PathEscape(partner), token: tok}, &p); err != nil {
					return fmt.Errorf("look up the partner's market (or pass --market): %w", err)
				}
				market = p.Market
			}
			var out struct {
				Acceptance struct {
					ID          string    `json:"id"`
					Program     string    `json:"program"`
					Market      string    `json:"market"`
					VersionID   string    `json:"version_id"`
					AcceptedAt  time.Time `json:"accepted_at"`
					EffectiveAt time.Time `json:"effective_at"`
					Acceptor    struct {
						UserID string `json:"user_id"`
					} `json:"acceptor"`
				} `json:"acceptance"`
				Existing    bool `json:"existing"`
				CarriedOver bool `json:"carried_over"`
			}
			res, err := g.callJSON(ctx, request{method: "POST", url: g.urls.Agreements + "/v1/partners/" + url.PathEscape(partner) + "/agreements/acceptances",
				token: tok, body: jsonBody(map[string]string{"version_id": version, "market": market})}, &out)
			if err != nil {
				return err
			}
			if g.json() {
				writeRaw(g.stdout, res.body)
				return nil
			}
			a := out.Acceptance
			verb := "accepted"
			if out.Existing {
				verb = "already accepted"
			}
			fmt.Fprintf(g.stdout, "%s %s for %s (%s, %s) by %s at %s, effective %s\nacceptance %s\n", verb, a.VersionID, partner, a.Program, a.Market,
				a.Acceptor.UserID, when(a.AcceptedAt), when(a.EffectiveAt), a.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "agreement version id (required)")
	cmd.Flags().StringVar(&market, "market", "", "market of the acceptance (default: the partner's)")
	return cmd
}
