package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
)

var (
	reviewKinds    = []string{"duplicate_claim", "email_dispute"}
	reviewStatuses = []string{"open", "decided", "cancelled"}
	reviewOutcomes = []string{"upheld", "refused", "dismissed"}
)

const reviewsLong = `Reviews are what a person decides that belongs to no verification case: a
duplicate claim (an applicant refused as a duplicate says it is the registered
company) and a "this wasn't me" dispute of a confirmation mail. A verifier lists
them, reads one (the claimant's statement and facts, the existing partner's), claims
it (a lease, as for tasks) and decides it:

  duplicate_claim  upheld (the existing partner's contact is asked by mail to add the
                   claimant) or refused --reason CODE
  email_dispute    upheld (the address is removed from the enrollment) or
                   dismissed --reason CODE (the confirmation continues)

These commands act as a verifier (role verifier), like the tasks commands.`

func newReviewsCmd(g *globals) *cobra.Command {
	reviews := group("reviews", "List, read, claim and decide duplicate-claim and dispute reviews (as a verifier)", reviewsLong, "review")
	reviews.AddCommand(newReviewsListCmd(g), newReviewsShowCmd(g), newReviewsClaimCmd(g), newReviewsDecideCmd(g))
	return reviews
}

// reviewItem is one review of GET /v1/verification/reviews (the fields the table shows).
type reviewItem struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Status    string    `json:"status"`
	PartnerID string    `json:"partner_id"`
	DueAt     time.Time `json:"due_at"`
	ClaimedBy string    `json:"claimed_by"`
	Claim     *struct {
		ClaimID  string `json:"claim_id"`
		Claimant struct {
			LegalName string `json:"legal_name"`
		} `json:"claimant"`
	} `json:"claim"`
	Dispute *struct {
		ChallengeID string `json:"challenge_id"`
		Address     string `json:"address"`
	} `json:"dispute"`
	Decision *struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	} `json:"decision"`
}

func (r reviewItem) about() string {
	switch {
	case r.Claim != nil:
		return r.Claim.ClaimID + " " + r.Claim.Claimant.LegalName
	case r.Dispute != nil:
		return r.Dispute.ChallengeID + " " + r.Dispute.Address
	}
	return ""
}

func newReviewsListCmd(g *globals) *cobra.Command {
	var kind, status, market string
	var unclaimed bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List reviews (oldest due first)",
		Long: `GET /v1/verification/reviews with the filters given (default: open reviews). The
table shows the review id (for show, claim and decide), its kind, the reviewed
partner, the status, who holds the lease, the due time and what it is about (the
claim and the claimant's company, or the challenge and the disputed address).`,
		Example: `  partnerctl reviews list --kind duplicate_claim --unclaimed
  partnerctl reviews list --status decided -o json | jq '.reviews[].decision'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := verifierListQuery([]listFilter{
				{flag: "--kind", key: "kind", val: kind, values: reviewKinds},
				{flag: "--status", key: "status", val: status, values: reviewStatuses},
				{key: "market", val: market},
			}, unclaimed, limit)
			if err != nil {
				return err
			}
			tok, err := g.bearer(caller{role: auth.RoleVerifier})
			if err != nil {
				return err
			}
			items, next, printed, err := g.verifierList(cmd, tok, "/v1/verification/reviews", "reviews", q, limit)
			if printed || err != nil {
				return err
			}
			var out struct {
				Reviews []reviewItem `json:"reviews"`
			}
			if err := decodeItems(items, &out.Reviews); err != nil {
				return err
			}
			rows := make([][]string, 0, len(out.Reviews))
			for _, r := range out.Reviews {
				rows = append(rows, []string{r.ID, r.Kind, r.PartnerID, r.Status, r.ClaimedBy, when(r.DueAt), r.about()})
			}
			if err := table(g.stdout, []string{"REVIEW", "KIND", "PARTNER", "STATUS", "CLAIMED BY", "DUE", "ABOUT"}, rows); err != nil {
				return err
			}
			moreWithLimit(g, next, limit, len(rows), "reviews")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "only this kind: "+strings.Join(reviewKinds, ", "))
	f.StringVar(&status, "status", "", "only reviews in this status: "+strings.Join(reviewStatuses, ", ")+" (default open)")
	f.StringVar(&market, "market", "", "only this market, e.g. JP")
	f.BoolVar(&unclaimed, "unclaimed", false, "only reviews nobody holds")
	f.IntVar(&limit, "limit", defaultListLimit, "show at most this many reviews (0: all)")
	return cmd
}

func newReviewsShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show REVIEW",
		Short:   "Print a review with everything needed to decide it (JSON)",
		Long:    `GET /v1/verification/reviews/{review}: the statement, the claimant's facts, the reviewed partner's facts, the decision once made.`,
		Example: `  partnerctl reviews show vr-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c`,
		Args:    exactArgs("REVIEW"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := g.bearer(caller{role: auth.RoleVerifier})
			if err != nil {
				return err
			}
			_, err = g.verifierCall(cmd, tok, "GET", "/v1/verification/reviews/"+url.PathEscape(args[0]), nil, nil)
			return err
		},
	}
}

func newReviewsClaimCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "claim REVIEW",
		Short: "Claim a review (take its lease)",
		Long: `POST /v1/verification/reviews/{review}/claim. Claiming a review you hold renews the
lease; one held by someone else is refused (exit 4), as is one of your own partner.`,
		Example: `  partnerctl reviews claim vr-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c --as-sub vera`,
		Args:    exactArgs("REVIEW"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := g.bearer(caller{role: auth.RoleVerifier})
			if err != nil {
				return err
			}
			var r struct {
				ID         string    `json:"id"`
				ClaimedBy  string    `json:"claimed_by"`
				LeaseUntil time.Time `json:"lease_until"`
			}
			if printed, err := g.verifierCall(cmd, tok, "POST", "/v1/verification/reviews/"+url.PathEscape(args[0])+"/claim", nil, &r); printed || err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "claimed review %s as %s until %s\n", r.ID, r.ClaimedBy, when(r.LeaseUntil))
			return nil
		},
	}
}

func newReviewsDecideCmd(g *globals) *cobra.Command {
	var outcome, reason, message, note, decisionID string
	cmd := &cobra.Command{
		Use:   "decide REVIEW --outcome upheld|refused|dismissed [--reason CODE]",
		Short: "Record a verifier's decision on a claimed review",
		Long: `POST /v1/verification/reviews/{review}/decisions. Claim the review first.

  upheld               a claim: the claimant is the existing partner's company (its
                       contact is asked to add the claimant); a dispute: the address
                       is removed from the enrollment
  refused --reason R   a claim is not upheld: not_the_registered_company,
                       insufficient_evidence, fraud_suspected
  dismissed --reason R a dispute is not upheld: address_belongs_to_contact,
                       insufficient_evidence

--message goes to the claimant (claims), --note only to verifiers. The decision id
defaults to a hash of the review, the verifier and the decision, so re-running the
same command is answered as a replay (exit 0).`,
		Example: `  partnerctl reviews decide vr-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c --outcome upheld
  partnerctl reviews decide vr-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c --outcome refused --reason insufficient_evidence --message "Send a certified copy of the company register."`,
		Args: exactArgs("REVIEW"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("--outcome", outcome, reviewOutcomes); err != nil {
				return err
			}
			if (outcome == "upheld") != (reason == "") {
				return usagef("upheld takes no --reason; refused and dismissed need one")
			}
			tok, err := g.bearer(caller{role: auth.RoleVerifier})
			if err != nil {
				return err
			}
			id := firstNonEmpty(decisionID, derivedDecisionID(args[0], tokenSubject(tok), outcome, reason, message))
			body := map[string]any{"decision_id": id, "outcome": outcome}
			for k, v := range map[string]string{"reason_code": reason, "message": message, "internal_note": note} {
				if v != "" {
					body[k] = v
				}
			}
			var r struct {
				Review struct {
					ID       string `json:"id"`
					Kind     string `json:"kind"`
					Decision struct {
						Outcome string `json:"outcome"`
					} `json:"decision"`
				} `json:"review"`
				Replayed bool `json:"replayed"`
			}
			if printed, err := g.verifierCall(cmd, tok, "POST", "/v1/verification/reviews/"+url.PathEscape(args[0])+"/decisions", body, &r); printed || err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "decision %s %s: %s %s %s\n", id, recorded(r.Replayed), r.Review.Kind, r.Review.ID, r.Review.Decision.Outcome)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&outcome, "outcome", "", "upheld, refused or dismissed (required)")
	f.StringVar(&reason, "reason", "", "reason code (refused, dismissed)")
	f.StringVar(&message, "message", "", "message to the claimant")
	f.StringVar(&note, "note", "", "internal note for verifiers")
	f.StringVar(&decisionID, "decision-id", "", "decision id (default: derived, so a re-run is a replay)")
	return cmd
}
