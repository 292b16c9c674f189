package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/pages"
)

// invitationEnv holds an invitation token or link, so it stays out of shell
// history and process listings.
const invitationEnv = "PARTNERHUB_INVITATION"

const relationshipsLong = `An active indirect provider (a distributor) asks a reseller for access: it names
the reseller's location, the roles it wants and for how long. The reseller's
administrator opens the invitation, sees who asks for what, and authorises (a
time-bound grant of exactly those roles) or declines. Either side may end the
relationship at any time.

  provider:  relationships request --provider PG-P --reseller-location PL-R …
             → prints the invitation link ONCE; hand it to the reseller's admin
  reseller:  relationships invitation show      --invitation LINK --as-partner PG-R
             relationships invitation authorise --invitation LINK --as-partner PG-R --consent
  either:    relationships end RELATIONSHIP-ID --reason … --as-partner PG-…
  operator:  relationships list --provider PG-P | --reseller PG-R`

func newRelationshipsCmd(g *globals) *cobra.Command {
	rel := group("relationships", "Provider–reseller relationships: request, authorise, end, list", relationshipsLong, "relationship", "rel")
	rel.AddCommand(newRelRequestCmd(g), newInvitationCmd(g), newRelEndCmd(g), newRelListCmd(g))
	return rel
}

// parseDays reads a grant duration: "365", "365d" or a Go duration in whole
// days ("8760h").
func parseDays(s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil {
		if n < 1 {
			return 0, fmt.Errorf("--duration %q must be at least one day", s)
		}
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 24*time.Hour || d%(24*time.Hour) != 0 {
		return 0, fmt.Errorf("--duration %q must be whole days: 365, 365d or 8760h", s)
	}
	return int(d / (24 * time.Hour)), nil
}

func newRelRequestCmd(g *globals) *cobra.Command {
	var provider, location, duration string
	var roles []string
	var autoExtend bool
	cmd := &cobra.Command{
		Use:   "request --provider PG-… --reseller-location PL-… [--roles R,…] [--duration 365d]",
		Short: "Ask a reseller for access (as the provider's administrator)",
		Long: `POST /v1/relationship-requests as the provider's administrator (role
provider_admin of --provider). Roles and duration default to the service's
least-privilege defaults. The answer carries the invitation link — a secret shown
only this once: hand it to the reseller's administrator over a trusted channel.
With -o json it is in .invitation_url.`,
		Example: `  partnerctl relationships request --provider PG-ER7G-1YVC-K69 --reseller-location PL-4XRZ-Y13V-GY3 \
    --roles billing_reader,support_agent --duration 365d`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if provider == "" || location == "" {
				return usagef("--provider and --reseller-location are required")
			}
			body := map[string]any{"reseller_location_id": location, "auto_extend": autoExtend}
			if len(roles) > 0 {
				body["roles"] = roles
			}
			if duration != "" {
				days, err := parseDays(duration)
				if err != nil {
					return usageError{err}
				}
				body["duration_days"] = days
			}
			tok, err := g.bearer(caller{role: auth.RoleProviderAdmin, partner: provider})
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			var out struct {
				RelationshipID string    `json:"relationship_id"`
				RequestID      string    `json:"request_id"`
				InvitationURL  string    `json:"invitation_url"`
				Roles          []string  `json:"roles"`
				DurationDays   int       `json:"duration_days"`
				AutoExtend     bool      `json:"auto_extend"`
				ExpiresAt      time.Time `json:"expires_at"`
			}
			res, err := g.callJSON(ctx, request{method: "POST", url: g.urls.Relationships + "/v1/relationship-requests", token: tok, body: jsonBody(body)}, &out)
			if err != nil {
				return err
			}
			if g.json() {
				writeRaw(g.stdout, res.body)
				return nil
			}
			fmt.Fprintf(g.stdout, "relationship %s, request %s: roles %s for %d days (auto-extend %t); the invitation expires %s\n",
				out.RelationshipID, out.RequestID, strings.Join(out.Roles, ","), out.DurationDays, out.AutoExtend, when(out.ExpiresAt))
			fmt.Fprintf(g.stdout, "invitation link (secret, shown once — give it to the reseller's administrator):\n%s\n", out.InvitationURL)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "the provider's partner id (you act as its provider_admin)")
	f.StringVar(&location, "reseller-location", "", "the reseller's location id, PL-…")
	f.StringSliceVar(&roles, "roles", nil, "roles to ask for, comma-separated (default: the service's least-privilege set)")
	f.StringVar(&duration, "duration", "", "how long the grant lasts: 365, 365d or 8760h (default: the service's)")
	f.BoolVar(&autoExtend, "auto-extend", false, "renew the grant when it expires unless either side objects")
	return cmd
}

// invitationToken resolves --invitation (a token, the invitation link, or
// "-" for stdin) with PARTNERHUB_INVITATION as fallback. The token is never
// printed.
func (g *globals) invitationToken(flag string) (string, error) {
	v := flag
	if v == "" {
		v = g.getenv(invitationEnv)
	}
	if v == "-" {
		line, err := bufio.NewReader(g.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", usagef("--invitation -: nothing on standard input")
		}
		v = line
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", usagef("the invitation is required: --invitation LINK|TOKEN, --invitation - (stdin) or %s", invitationEnv)
	}
	if _, tok, ok := strings.Cut(v, "#token="); ok {
		v = tok
	}
	if strings.ContainsAny(v, " /?#") {
		return "", usagef("--invitation is neither an invitation link nor a token")
	}
	return v, nil
}

func newInvitationCmd(g *globals) *cobra.Command {
	inv := group("invitation", "Show, authorise or decline a provider's invitation (as the reseller's administrator)",
		`The reseller's administrator (role partner_admin of the reseller: --as-partner PG-… with a
development token) answers a provider's request with the invitation link or token.
Pass it with --invitation LINK (the whole link works), --invitation - to read it
from standard input, or in `+invitationEnv+`; partnerctl never prints it.`, "invite")
	var raw, reason string
	var consent bool
	addFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&raw, "invitation", "", "invitation link or token ('-': standard input; env "+invitationEnv+")")
	}
	resellerToken := func() (string, string, error) {
		tok, err := g.invitationToken(raw)
		if err != nil {
			return "", "", err
		}
		bearer, err := g.bearer(caller{role: auth.RolePartnerAdmin})
		return tok, bearer, err
	}
	show := &cobra.Command{
		Use:   "show --invitation LINK",
		Short: "Show who asks for which roles, for how long, and the consent statement",
		Long:  `GET /v1/invitation with the token in the Invitation-Token header (never in the URL).`,
		Example: `  partnerctl relationships invitation show --invitation "$LINK" --as-partner PG-PRTA-HD7W-NYE
  echo "$LINK" | partnerctl relationships invitation show --invitation - --as-partner PG-PRTA-HD7W-NYE`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, bearer, err := resellerToken()
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			var out struct {
				RelationshipID    string `json:"relationship_id"`
				RequestID         string `json:"request_id"`
				Kind              string `json:"kind"`
				Status            string `json:"status"`
				ProviderID        string `json:"provider_id"`
				ProviderLegalName string `json:"provider_legal_name"`
				ProviderAddress   struct {
					Line1, Line2, City, Region, Country string
					PostalCode                          string `json:"postal_code"`
				} `json:"provider_address"`
				ResellerLocationID string    `json:"reseller_location_id"`
				Roles              []string  `json:"roles"`
				CurrentRoles       []string  `json:"current_roles"`
				DurationDays       int       `json:"duration_days"`
				AutoExtend         bool      `json:"auto_extend"`
				ExpiresAt          time.Time `json:"expires_at"`
				ConsentStatement   string    `json:"consent_statement"`
			}
			res, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Relationships + "/v1/invitation", token: bearer,
				header: map[string]string{"Invitation-Token": inv}}, &out)
			if err != nil {
				return err
			}
			if g.json() {
				writeRaw(g.stdout, res.body)
				return nil
			}
			a := out.ProviderAddress
			fmt.Fprintf(g.stdout, "%s %s (%s) from %s %s\n", out.Kind, out.RequestID, out.Status, out.ProviderID, out.ProviderLegalName)
			fmt.Fprintf(g.stdout, "  address:   %s\n", strings.Join(nonEmpty(a.PostalCode, a.Region, a.City, a.Line1, a.Line2, a.Country), " "))
			fmt.Fprintf(g.stdout, "  asks for:  %s for %d days (auto-extend %t) at location %s\n", strings.Join(out.Roles, ","), out.DurationDays,
				out.AutoExtend, out.ResellerLocationID)
			if len(out.CurrentRoles) > 0 {
				fmt.Fprintf(g.stdout, "  holds now: %s\n", strings.Join(out.CurrentRoles, ","))
			}
			fmt.Fprintf(g.stdout, "  answer by: %s\n  consent:   %s\n", when(out.ExpiresAt), out.ConsentStatement)
			return nil
		},
	}
	authorise := &cobra.Command{
		Use:     "authorise --invitation LINK --consent",
		Aliases: []string{"authorize"},
		Short:   "Grant the provider the roles it asked for",
		Long: `POST /v1/invitation/authorise with {"token", "consent": true}. --consent says you read
the consent statement ('invitation show') and agree; without it nothing is sent.`,
		Example: `  partnerctl relationships invitation authorise --invitation "$LINK" --as-partner PG-PRTA-HD7W-NYE --consent`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !consent {
				return usagef("authorising needs --consent (read the statement with 'relationships invitation show' first)")
			}
			inv, bearer, err := resellerToken()
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			var out struct {
				RelationshipID string    `json:"relationship_id"`
				GrantID        string    `json:"grant_id"`
				Roles          []string  `json:"roles"`
				StartsAt       time.Time `json:"starts_at"`
				ExpiresAt      time.Time `json:"expires_at"`
				AutoExtend     bool      `json:"auto_extend"`
			}
			res, err := g.callJSON(ctx, request{method: "POST", url: g.urls.Relationships + "/v1/invitation/authorise", token: bearer,
				body: jsonBody(map[string]any{"token": inv, "consent": true})}, &out)
			if err != nil {
				return err
			}
			if g.json() {
				writeRaw(g.stdout, res.body)
				return nil
			}
			fmt.Fprintf(g.stdout, "authorised: relationship %s, grant %s: %s from %s until %s (auto-extend %t)\n", out.RelationshipID, out.GrantID,
				strings.Join(out.Roles, ","), when(out.StartsAt), when(out.ExpiresAt), out.AutoExtend)
			return nil
		},
	}
	decline := &cobra.Command{
		Use:     "decline --invitation LINK [--reason TEXT]",
		Short:   "Decline the provider's request",
		Long:    `POST /v1/invitation/decline with {"token", "reason"}; the provider is told.`,
		Example: `  partnerctl relationships invitation decline --invitation "$LINK" --as-partner PG-PRTA-HD7W-NYE --reason "we work with another distributor"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, bearer, err := resellerToken()
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			if _, err := g.do(ctx, request{method: "POST", url: g.urls.Relationships + "/v1/invitation/decline", token: bearer,
				body: jsonBody(map[string]string{"token": inv, "reason": reason})}); err != nil {
				return err
			}
			if g.json() {
				return writeJSON(g.stdout, map[string]bool{"declined": true})
			}
			fmt.Fprintln(g.stdout, "declined")
			return nil
		},
	}
	decline.Flags().StringVar(&reason, "reason", "", "why (shown to the provider)")
	authorise.Flags().BoolVar(&consent, "consent", false, "you read the consent statement and agree (required)")
	for _, c := range []*cobra.Command{show, authorise, decline} {
		addFlag(c)
	}
	inv.AddCommand(show, authorise, decline)
	return inv
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func newRelEndCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "end RELATIONSHIP-ID --reason TEXT --as-partner PG-…",
		Short: "End a relationship now (either side)",
		Long: `POST /v1/relationships/{id}/end with {"reason"}. Either party may end it: the
reseller's administrator or the provider's (a development token carries both
partner_admin and provider_admin for --as-partner; the service decides which side
you are by the partner). The grant ends at once. Ending an ended relationship is
a no-op (exit 0, "already ended").`,
		Example: `  partnerctl relationships end KZ3JQW5V7XN2HD4RT6YB8MCPFA --reason "contract ended" --as-partner PG-ER7G-1YVC-K69`,
		Args:    exactArgs("RELATIONSHIP_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason is required (it is recorded and shown to the other side)")
			}
			tok, err := g.bearer(caller{role: auth.RolePartnerAdmin, extra: []auth.Role{auth.RoleProviderAdmin}})
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			var out struct {
				RelationshipID string    `json:"relationship_id"`
				EndedBy        string    `json:"ended_by"`
				EndedAt        time.Time `json:"ended_at"`
				Reason         string    `json:"reason"`
				AlreadyEnded   bool      `json:"already_ended"`
			}
			res, err := g.callJSON(ctx, request{method: "POST", url: g.urls.Relationships + "/v1/relationships/" + url.PathEscape(args[0]) + "/end",
				token: tok, body: jsonBody(map[string]string{"reason": reason})}, &out)
			if err != nil {
				return err
			}
			if g.json() {
				writeRaw(g.stdout, res.body)
				return nil
			}
			verb := "ended"
			if out.AlreadyEnded {
				verb = "already ended"
			}
			fmt.Fprintf(g.stdout, "relationship %s %s by the %s at %s: %s\n", out.RelationshipID, verb, out.EndedBy, when(out.EndedAt), out.Reason)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newRelListCmd(g *globals) *cobra.Command {
	var provider, reseller string
	var closed bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list --provider PG-… | --reseller PG-…",
		Short: "List a provider's or a reseller's relationships",
		Long: `GET /v1/provider/relationships or /v1/reseller/relationships?partner_id=… as an
operator: state, the other party, the grant's roles and expiry, and a pending
request if one waits for an answer. --include-closed adds ended ones. Newest first,
following "next" across pages up to --limit; -o json prints one answer in the
API's shape with every page's relationships.`,
		Example: `  partnerctl relationships list --provider PG-ER7G-1YVC-K69
  partnerctl relationships list --reseller PG-PRTA-HD7W-NYE --include-closed -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (provider == "") == (reseller == "") {
				return usagef("pass exactly one of --provider or --reseller")
			}
			side, id := "provider", provider
			if reseller != "" {
				side, id = "reseller", reseller
			}
			tok, err := g.bearer(caller{role: auth.RoleOperator})
			if err != nil {
				return err
			}
			if err := checkLimit(limit); err != nil {
				return err
			}
			var all struct {
				Relationships []json.RawMessage `json:"relationships"`
				Next          string            `json:"next"`
			}
			all.Relationships, all.Next, err = pages.Fetch(limit, maxRelationshipPage, func(q url.Values) ([]json.RawMessage, string, error) {
				q.Set("partner_id", id)
				if closed {
					q.Set("include_closed", "true")
				}
				ctx, cancel := g.withTimeout(cmd.Context())
				defer cancel()
				var page struct {
					Relationships []json.RawMessage `json:"relationships"`
					Next          string            `json:"next"`
				}
				if _, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Relationships + "/v1/" + side + "/relationships?" + q.Encode(), token: tok}, &page); err != nil {
					return nil, "", err
				}
				return page.Relationships, page.Next, nil
			})
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(g.stdout, all)
			}
			var out struct {
				Relationships []struct {
					RelationshipID     string `json:"relationship_id"`
					State              string `json:"state"`
					ProviderID         string `json:"provider_id"`
					ProviderLegalName  string `json:"provider_legal_name"`
					ResellerID         string `json:"reseller_id"`
					ResellerLocationID string `json:"reseller_location_id"`
					ResellerLegalName  string `json:"reseller_legal_name"`
					Grant              *struct {
						State     string    `json:"state"`
						Roles     []string  `json:"roles"`
						ExpiresAt time.Time `json:"expires_at"`
					} `json:"grant"`
					PendingRequest *struct {
						Kind   string   `json:"kind"`
						Status string   `json:"status"`
						Roles  []string `json:"roles"`
					} `json:"pending_request"`
				} `json:"relationships"`
			}
			if err := decodeItems(all.Relationships, &out.Relationships); err != nil {
				return fmt.Errorf("the relationships service's answer: %w", err)
			}
			rows := make([][]string, 0, len(out.Relationships))
			for _, r := range out.Relationships {
				grant, expires, pending := "", "", ""
				if r.Grant != nil {
					grant = r.Grant.State + " " + strings.Join(r.Grant.Roles, ",")
					expires = when(r.Grant.ExpiresAt)
				}
				if p := r.PendingRequest; p != nil {
					pending = p.Kind + " " + p.Status + " " + strings.Join(p.Roles, ",")
				}
				rows = append(rows, []string{r.RelationshipID, r.State, r.ProviderID + " " + r.ProviderLegalName,
					r.ResellerID + " " + r.ResellerLegalName, r.ResellerLocationID, grant, expires, pending})
			}
			if err := table(g.stdout, []string{"RELATIONSHIP", "STATE", "PROVIDER", "RESELLER", "LOCATION", "GRANT", "EXPIRES", "PENDING"}, rows); err != nil {
				return err
			}
			moreWithLimit(g, all.Next, limit, len(rows), "relationships")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "list this provider's relationships")
	f.StringVar(&reseller, "reseller", "", "list this reseller's relationships")
	f.BoolVar(&closed, "include-closed", false, "include ended relationships")
	f.IntVar(&limit, "limit", defaultListLimit, "show at most this many relationships, newest first (0: all)")
	return cmd
}
