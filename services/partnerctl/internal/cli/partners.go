package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
)

func newPartnersCmd(g *globals) *cobra.Command {
	partners := group("partners", "See where a partner stands", "", "partner")
	status := &cobra.Command{
		Use:   "status PG-…",
		Short: "One summary of a partner across registration, verification and agreements",
		Long: `Ask the services about one partner and print one summary: its IDs and status,
every enrollment with its state, which e-mail addresses are confirmed, the
verification case with the state of each check, what the applicant still has to
do (due, past due) and what waits on a verifier, for each enrolled program
whether its agreement is in effect — or the precise reason it is not — and
whether the enrollment can transact, or what is open (registration's
requirements view: confirmations, review, documents, agreement, standing, MFA).

Calls, as an operator (role operator):
  GET {registration}/v1/registrations/{id}
  GET {registration}/v1/partners/{id}/enrollments/{program}/requirements  (per program)
  GET {email-ownership}/v1/enrollments/{enrollment}/ownership  (per enrollment)
  GET {verification}/v1/verification/partners/{id}/case and …/requirements
  GET {agreements}/v1/partners/{id}/agreements/status?market=…&program=…  (per program)
A missing partner exits 3. A service that does not answer is shown as such and
the command exits 1 after printing what it has. -o json prints one object:
{"registration": …, "email_ownership": {"<enrollment>": …},
 "verification": {"case": …, "requirements": …},
 "agreements": {"<program>": status or problem},
 "requirements": {"<program>": registration's requirements view; a program's further
 enrollments, one per added location, under their enrollment id}} with each API's JSON unchanged.`,
		Example: `  partnerctl partners status PG-PRTA-HD7W-NYE
  partnerctl partners status PG-PRTA-HD7W-NYE -o json | jq '.verification.requirements.due'`,
		Args: exactArgs("PARTNER_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			return g.partnerStatus(ctx, args[0])
		},
	}
	partners.AddCommand(status)
	addGrowCommands(partners, g)
	return partners
}

// partnerStatus is the combined view; each part keeps its API's JSON.
type partnerStatus struct {
	Registration   json.RawMessage            `json:"registration"`
	EmailOwnership map[string]json.RawMessage `json:"email_ownership"` // by enrollment id
	Verification   verificationPart           `json:"verification"`
	Agreements     map[string]json.RawMessage `json:"agreements"`
	Requirements   map[string]json.RawMessage `json:"requirements"`     // by program: can it transact, what is open
	Errors         []string                   `json:"errors,omitempty"` // services that could not answer
}

type verificationPart struct {
	Case         json.RawMessage `json:"case"`
	Requirements json.RawMessage `json:"requirements"`
}

func (g *globals) partnerStatus(ctx context.Context, id string) error {
	if strings.TrimSpace(id) == "" {
		return usagef("PARTNER_ID is empty")
	}
	tok, err := g.bearer(caller{role: auth.RoleOperator})
	if err != nil {
		return err
	}
	esc := url.PathEscape(id)
	out := partnerStatus{Agreements: map[string]json.RawMessage{}, EmailOwnership: map[string]json.RawMessage{},
		Requirements: map[string]json.RawMessage{}}
	var reg registrationView
	res, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Registration + "/v1/registrations/" + esc, token: tok}, &reg)
	if err != nil {
		return err // 404 → exit 3: nothing else to say
	}
	out.Registration = res.body

	var failures []error
	part := func(u string) json.RawMessage {
		res, err := g.do(ctx, request{method: "GET", url: u, token: tok})
		switch {
		case err == nil:
			return res.body
		case isStatus(err, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity) && json.Valid(res.body):
			return res.body // a meaningful "no": keep the problem
		default:
			failures = append(failures, err)
			out.Errors = append(out.Errors, err.Error())
			return nil
		}
	}
	for _, e := range reg.Enrollments {
		if body := part(g.urls.EmailOwnership + "/v1/enrollments/" + url.PathEscape(e.ID) + "/ownership"); body != nil {
			out.EmailOwnership[e.ID] = body
		}
	}
	out.Verification.Case = part(g.urls.Verification + "/v1/verification/partners/" + esc + "/case")
	out.Verification.Requirements = part(g.urls.Verification + "/v1/verification/partners/" + esc + "/requirements")
	for _, e := range reg.Enrollments {
		q := url.Values{"market": {reg.Market}, "program": {e.Program}}
		if body := part(g.urls.Agreements + "/v1/partners/" + esc + "/agreements/status?" + q.Encode()); body != nil {
			out.Agreements[e.Program] = body
		}
	}
	// A program's further enrollments (one per added location) by their ID.
	first := map[string]bool{}
	for _, e := range reg.Enrollments {
		key := e.Program
		if first[e.Program] {
			key = e.ID
		}
		first[e.Program] = true
		if body := part(g.urls.Registration + "/v1/partners/" + esc + "/enrollments/" + url.PathEscape(key) + "/requirements"); body != nil {
			out.Requirements[key] = body
		}
	}
	if g.json() {
		if err := writeJSON(g.stdout, out); err != nil {
			return err
		}
	} else {
		printPartnerStatus(g.stdout, reg, out)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d service(s) did not answer; the summary is partial: %w", len(failures), failures[0])
	}
	return nil
}

// caseView is GET /v1/verification/partners/{id}/case (verification's caseJSON).
type caseView struct {
	CaseID    string `json:"case_id"`
	Status    string `json:"status"`
	SubStatus string `json:"sub_status"`
	Failure   *struct {
		Check  string `json:"check"`
		Reason string `json:"reason"`
		Mode   string `json:"mode"`
	} `json:"failure"`
	Checks []struct {
		Kind             string `json:"kind"`
		State            string `json:"state"`
		Mode             string `json:"mode"`
		Reason           string `json:"reason"`
		AppealsRemaining int    `json:"appeals_remaining"`
	} `json:"checks"`
	Tasks []struct {
		ID        string    `json:"id"`
		Check     string    `json:"check"`
		Round     int       `json:"round"`
		Status    string    `json:"status"`
		DueAt     time.Time `json:"due_at"`
		ClaimedBy string    `json:"claimed_by"`
		Overdue   bool      `json:"overdue"`
	} `json:"tasks"`
}

// requirement is one entry of RequirementsView.due / past_due.
type requirement struct {
	Check       string    `json:"check"`
	State       string    `json:"state"`
	Reason      string    `json:"reason"`
	Description string    `json:"description"`
	DueAt       time.Time `json:"due_at"`
}

// requirementsView is GET …/requirements (verification's domain.RequirementsView).
type requirementsView struct {
	Due      []requirement `json:"due"`
	PastDue  []requirement `json:"past_due"`
	InReview []struct {
		Check  string    `json:"check"`
		TaskID string    `json:"task_id"`
		DueAt  time.Time `json:"due_at"`
	} `json:"in_review"`
}

// agreementStatus is GET …/agreements/status (agreements' statusJSON).
type agreementStatus struct {
	Signed            bool       `json:"signed"`
	VersionID         string     `json:"version_id"`
	AcceptanceID      string     `json:"acceptance_id"`
	AcceptedAt        time.Time  `json:"accepted_at"`
	EffectiveAt       time.Time  `json:"effective_at"`
	ReacceptanceDueBy *time.Time `json:"reacceptance_due_by"`
	AcceptedBy        struct {
		UserID string `json:"user_id"`
		Name   string `json:"name"`
	} `json:"accepted_by"`
}

func printPartnerStatus(w io.Writer, reg registrationView, st partnerStatus) {
	fmt.Fprintf(w, "Partner       %s  %s\n", reg.PartnerID, reg.LegalName)
	fmt.Fprintf(w, "Status        %s (market %s)", reg.Status, reg.Market)
	if reg.RejectionReason != "" {
		fmt.Fprintf(w, " — %s", reg.RejectionReason)
	}
	fmt.Fprintln(w)
	for _, l := range reg.Locations {
		fmt.Fprintf(w, "Location      %s (%s)\n", l.ID, l.Status)
	}
	confirmed := map[string]string{}
	for _, c := range reg.EmailOwnership {
		confirmed[c.EnrollmentID] = c.Address + " confirmed " + c.ConfirmedAt
	}
	fmt.Fprintln(w, "\nEnrollments")
	rows := [][]string{}
	for _, e := range reg.Enrollments {
		state := e.Status
		if e.RejectionReason != "" {
			state += " (" + e.RejectionReason + ")"
		}
		mail := ownershipLine(st.EmailOwnership[e.ID])
		if mail == "" {
			mail = confirmed[e.ID] // registration's record, when email-ownership did not answer
		}
		if mail == "" {
			mail = "not confirmed"
		}
		rows = append(rows, []string{"  " + e.ID, e.Program, state, mail})
	}
	_ = table(w, []string{"  ID", "PROGRAM", "STATUS", "E-MAIL OWNERSHIP"}, rows)

	fmt.Fprintln(w, "\nVerification")
	var cv caseView
	switch {
	case st.Verification.Case == nil:
		fmt.Fprintln(w, "  (verification did not answer)")
	case !decodeOK(st.Verification.Case, &cv) || cv.CaseID == "":
		fmt.Fprintf(w, "  no case yet: %s\n", problemLine(st.Verification.Case))
	default:
		fmt.Fprintf(w, "  case %s: %s", cv.CaseID, cv.Status)
		if cv.SubStatus != "" {
			fmt.Fprintf(w, " (%s)", cv.SubStatus)
		}
		if cv.Failure != nil {
			fmt.Fprintf(w, " — %s failed: %s %s", cv.Failure.Check, cv.Failure.Reason, cv.Failure.Mode)
		}
		fmt.Fprintln(w)
		for _, c := range cv.Checks {
			line := "  check " + pad(c.Kind, 16) + " " + c.State
			if c.Reason != "" {
				line += " " + c.Reason
			}
			if c.Mode != "" {
				line += " " + c.Mode
			}
			fmt.Fprintln(w, line)
		}
		for _, t := range cv.Tasks {
			if t.Status != "open" && t.Status != "pending_confirmation" {
				continue
			}
			claimed := "unclaimed"
			if t.ClaimedBy != "" {
				claimed = "claimed by " + t.ClaimedBy
			}
			overdue := ""
			if t.Overdue {
				overdue = ", OVERDUE"
			}
			fmt.Fprintf(w, "  task  %s %s round %d %s, %s, due %s%s\n", t.ID, t.Check, t.Round, t.Status, claimed, when(t.DueAt), overdue)
		}
	}
	var rv requirementsView
	if st.Verification.Requirements != nil && decodeOK(st.Verification.Requirements, &rv) {
		for _, r := range rv.Due {
			fmt.Fprintf(w, "  due       %s\n", requirementLine(r, "by"))
		}
		for _, r := range rv.PastDue {
			fmt.Fprintf(w, "  PAST DUE  %s\n", requirementLine(r, "since"))
		}
		for _, r := range rv.InReview {
			fmt.Fprintf(w, "  waits on a verifier: %s (task %s, due %s)\n", r.Check, r.TaskID, when(r.DueAt))
		}
	}

	fmt.Fprintln(w, "\nAgreements")
	for _, e := range reg.Enrollments {
		body, ok := st.Agreements[e.Program]
		var as agreementStatus
		switch {
		case !ok:
			fmt.Fprintf(w, "  %s (agreements did not answer)\n", pad(e.Program, 20))
		case decodeOK(body, &as) && as.Signed:
			line := fmt.Sprintf("  %s signed %s, accepted %s by %s, effective %s", pad(e.Program, 20), as.VersionID, when(as.AcceptedAt),
				firstNonEmpty(as.AcceptedBy.Name, as.AcceptedBy.UserID), when(as.EffectiveAt))
			if as.ReacceptanceDueBy != nil {
				line += "; RE-ACCEPTANCE due by " + when(*as.ReacceptanceDueBy)
			}
			fmt.Fprintln(w, line)
		default:
			fmt.Fprintf(w, "  %s not in effect: %s\n", pad(e.Program, 20), problemLine(body))
		}
	}

	fmt.Fprintln(w, "\nCan it transact?")
	for _, e := range reg.Enrollments {
		label := e.Program
		body, ok := st.Requirements[e.ID] // a program's further enrollment
		if ok {
			label += " @" + e.LocationID
		} else {
			body, ok = st.Requirements[e.Program]
		}
		var rv enrollmentRequirements
		switch {
		case !ok:
			fmt.Fprintf(w, "  %-20s (registration did not answer)\n", label)
		case !decodeOK(body, &rv):
			fmt.Fprintf(w, "  %-20s %s\n", label, problemLine(body))
		case rv.CanTransact:
			fmt.Fprintf(w, "  %-20s yes\n", label)
		default:
			fmt.Fprintf(w, "  %-20s not yet (enrollment %s, partner %s)\n", label, rv.EnrollmentStatus, rv.PartnerStatus)
			for _, r := range rv.Requirements {
				kind := r.Kind
				if r.Reason != "" {
					kind += ":" + r.Reason
				}
				line := fmt.Sprintf("    %-34s waits on %-8s %s", kind, r.Party, r.Description)
				if r.DueAt != nil {
					line += " — due " + when(*r.DueAt)
					if r.PastDue {
						line += " PAST DUE"
					}
				}
				for _, c := range r.Cures {
					if c.Path != "" {
						line += "\n      cure: " + c.Method + " " + c.Path + " (" + c.Service + ")"
					}
				}
				fmt.Fprintln(w, line)
			}
		}
	}
	for _, e := range st.Errors {
		fmt.Fprintf(w, "\n! %s\n", e)
	}
}

// enrollmentRequirements is registration's requirements view of one enrollment.
type enrollmentRequirements struct {
	EnrollmentStatus string `json:"enrollment_status"`
	PartnerStatus    string `json:"partner_status"`
	CanTransact      bool   `json:"can_transact"`
	Requirements     []struct {
		Kind        string     `json:"kind"`
		Party       string     `json:"party"`
		Reason      string     `json:"reason"`
		Description string     `json:"description"`
		DueAt       *time.Time `json:"due_at"`
		PastDue     bool       `json:"past_due"`
		Cures       []struct {
			Service string `json:"service"`
			Method  string `json:"method"`
			Path    string `json:"path"`
		} `json:"cures"`
	} `json:"requirements"`
}

func decodeOK(data []byte, v any) bool { return json.Unmarshal(data, v) == nil }

// problemLine renders a problem document as "code: detail".
func problemLine(body []byte) string {
	var p problem
	if json.Unmarshal(body, &p) != nil || p.Code == "" {
		return truncate(strings.TrimSpace(string(body)), 200)
	}
	if p.Detail == "" {
		return p.Code
	}
	return p.Code + ": " + p.Detail
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// requirementLine renders what an applicant must do: check, description,
// reason code and deadline, each only when known.
func requirementLine(r requirement, deadline string) string {
	s := r.Check + ": " + r.Description
	if r.Reason != "" {
		s += " (" + r.Reason + ")"
	}
	if !r.DueAt.IsZero() {
		s += " " + deadline + " " + when(r.DueAt)
	}
	return s
}

// ownershipView is GET /v1/enrollments/{id}/ownership (email-ownership's statusResponse).
type ownershipView struct {
	State          string     `json:"state"`
	Address        string     `json:"address"`
	ExpiresAt      time.Time  `json:"expires_at"`
	ConfirmedAt    *time.Time `json:"confirmed_at"`
	WrongCodesLeft int        `json:"wrong_codes_left"`
	DisputeOpen    bool       `json:"dispute_open"`
}

// ownershipLine renders the current e-mail challenge of an enrollment; ""
// when there is none (or the answer was a problem).
func ownershipLine(body []byte) string {
	var o ownershipView
	if body == nil || !decodeOK(body, &o) || o.State == "" {
		return ""
	}
	s := o.State + " " + o.Address
	switch {
	case o.ConfirmedAt != nil:
		s += " " + when(*o.ConfirmedAt)
	case o.State == "pending":
		s += ", link expires " + when(o.ExpiresAt)
	}
	if o.DisputeOpen {
		s += ", DISPUTE OPEN"
	}
	return s
}
