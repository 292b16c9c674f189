package cli

import (
	"crypto/sha256"
	"encoding/hex"
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

var (
	taskStatuses = []string{"open", "pending_confirmation", "decided", "cancelled"}
	taskChecks   = []string{"email_ownership", "employment", "company"}
	outcomes     = []string{"approve", "reject", "request_documents"}
)

const tasksLong = `Review tasks are the checks a person decides: the verification service opens one
when a check needs a verifier (company review after the register pre-check,
documents an applicant sent in). A verifier lists them, claims one (a lease: nobody
else may decide it meanwhile), and records a decision. A FINAL rejection needs a
second verifier to confirm it (the task waits in pending_confirmation).

These commands act as a verifier (role verifier). With a development token the
subject is partnerctl-verifier; pick another with --as-sub (a second verifier to
confirm a FINAL rejection). Verifiers never decide tasks of their own partner.`

func newTasksCmd(g *globals) *cobra.Command {
	tasks := group("tasks", "List, claim and decide verification review tasks (as a verifier)", tasksLong, "task")
	tasks.AddCommand(newTasksListCmd(g), newTasksClaimCmd(g), newTasksDecideCmd(g))
	return tasks
}

// taskItem is one entry of GET /v1/verification/tasks (verification's taskJSON).
type taskItem struct {
	CaseID    string `json:"case_id"`
	PartnerID string `json:"partner_id"`
	Market    string `json:"market"`
	Task      struct {
		ID         string    `json:"id"`
		Check      string    `json:"check"`
		Round      int       `json:"round"`
		Status     string    `json:"status"`
		CreatedAt  time.Time `json:"created_at"`
		DueAt      time.Time `json:"due_at"`
		ClaimedBy  string    `json:"claimed_by"`
		LeaseUntil time.Time `json:"lease_until"`
		ProposedBy string    `json:"proposed_by"`
		Overdue    bool      `json:"overdue"`
		Content    struct {
			Normalized struct {
				LegalName string `json:"legal_name"`
			} `json:"normalized"`
			RespondsTo string `json:"responds_to"`
			// EarlierAccounts are the company's closed or rejected
			// accounts (since round 46).
			EarlierAccounts []struct {
				PartnerID string `json:"partner_id"`
				Status    string `json:"status"`
			} `json:"earlier_accounts"`
		} `json:"content"`
	} `json:"task"`
}

func newTasksListCmd(g *globals) *cobra.Command {
	var status, check, market string
	var unclaimed bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List review tasks (oldest due first)",
		Long: `GET /v1/verification/tasks with the filters given. The table shows the task id (for
claim and decide), the partner, the check, the round (2+ after documents came in),
the status, who holds the lease, the due time and the company, with the company's
earlier accounts (closed, or rejected) when it registered again.`,
		Example: `  partnerctl tasks list --status open --unclaimed
  partnerctl tasks list --check company --market JP -o json | jq -r '.tasks[].task.id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := verifierListQuery([]listFilter{
				{flag: "--status", key: "status", val: status, values: taskStatuses},
				{flag: "--check", key: "check", val: check, values: taskChecks},
				{key: "market", val: market},
			}, unclaimed, limit)
			if err != nil {
				return err
			}
			tok, err := g.bearer(caller{role: auth.RoleVerifier})
			if err != nil {
				return err
			}
			items, next, printed, err := g.verifierList(cmd, tok, "/v1/verification/tasks", "tasks", q, limit)
			if printed || err != nil {
				return err
			}
			var out struct {
				Tasks []taskItem `json:"tasks"`
			}
			if err := decodeItems(items, &out.Tasks); err != nil {
				return err
			}
			rows := make([][]string, 0, len(out.Tasks))
			for _, t := range out.Tasks {
				due := when(t.Task.DueAt)
				if t.Task.Overdue {
					due += " OVERDUE"
				}
				company := t.Task.Content.Normalized.LegalName
				for _, a := range t.Task.Content.EarlierAccounts {
					company += " (earlier account " + a.PartnerID + " " + a.Status + ")"
				}
				rows = append(rows, []string{t.Task.ID, t.PartnerID, t.Task.Check, strconv.Itoa(t.Task.Round), t.Task.Status,
					t.Task.ClaimedBy, due, company})
			}
			if err := table(g.stdout, []string{"TASK", "PARTNER", "CHECK", "ROUND", "STATUS", "CLAIMED BY", "DUE", "COMPANY"}, rows); err != nil {
				return err
			}
			moreWithLimit(g, next, limit, len(rows), "tasks")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only tasks in this status: "+strings.Join(taskStatuses, ", "))
	f.StringVar(&check, "check", "", "only this check: "+strings.Join(taskChecks, ", "))
	f.StringVar(&market, "market", "", "only this market, e.g. JP")
	f.BoolVar(&unclaimed, "unclaimed", false, "only tasks nobody holds")
	f.IntVar(&limit, "limit", defaultListLimit, "show at most this many tasks (0: all)")
	return cmd
}

func newTasksClaimCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "claim TASK",
		Short: "Claim a review task (take its lease)",
		Long: `POST /v1/verification/tasks/{task}/claim. The lease keeps other verifiers off the
task until it expires; claiming a task you already hold renews the lease. A task
held by someone else is refused (exit 4).`,
		Example: `  partnerctl tasks claim vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1
  partnerctl tasks claim vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 --as-sub vera`,
		Args: exactArgs("TASK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := g.bearer(caller{role: auth.RoleVerifier})
			if err != nil {
				return err
			}
			var out struct {
				CaseID     string    `json:"case_id"`
				TaskID     string    `json:"task_id"`
				ClaimedBy  string    `json:"claimed_by"`
				LeaseUntil time.Time `json:"lease_until"`
			}
			if printed, err := g.verifierCall(cmd, tok, "POST", "/v1/verification/tasks/"+url.PathEscape(args[0])+"/claim", nil, &out); printed || err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "claimed task %s (case %s) as %s until %s\n", out.TaskID, out.CaseID, out.ClaimedBy, when(out.LeaseUntil))
			return nil
		},
	}
}

type decideOptions struct {
	outcome, reason, message, note, decisionID string
	final                                      bool
	documents                                  []string
}

// body checks the flags and builds the DecisionRequest of the verification
// API (outcome, reason_code, mode RETRY|FINAL, applicant_message,
// internal_note, documents).
func (o decideOptions) body(taskID, subject string) (map[string]any, error) {
	if err := oneOf("--outcome", o.outcome, outcomes); err != nil {
		return nil, err
	}
	mode := ""
	switch o.outcome {
	case "approve":
		if o.reason != "" || o.final || len(o.documents) > 0 {
			return nil, usagef("an approval takes no --reason, --final or --document")
		}
	case "reject":
		if o.reason == "" {
			return nil, usagef("a rejection needs --reason CODE (the reason codes: GET /v1/verification/catalog)")
		}
		mode = "RETRY"
		if o.final {
			mode = "FINAL"
		}
	case "request_documents":
		if o.reason == "" {
			return nil, usagef("a document request needs --reason CODE")
		}
		if o.final {
			return nil, usagef("--final applies to rejections only")
		}
	}
	id := firstNonEmpty(o.decisionID, derivedDecisionID(append([]string{taskID, subject, o.outcome, o.reason, mode, o.message}, o.documents...)...))
	b := map[string]any{"decision_id": id, "outcome": o.outcome}
	for k, v := range map[string]string{"reason_code": o.reason, "mode": mode, "applicant_message": o.message, "internal_note": o.note} {
		if v != "" {
			b[k] = v
		}
	}
	if len(o.documents) > 0 {
		b["documents"] = o.documents
	}
	return b, nil
}

func newTasksDecideCmd(g *globals) *cobra.Command {
	var o decideOptions
	cmd := &cobra.Command{
		Use:   "decide TASK --outcome approve|reject|request_documents [--reason CODE] [--final]",
		Short: "Record a verifier's decision on a claimed task",
		Long: `POST /v1/verification/tasks/{task}/decisions. Claim the task first.

  approve            the check passes (no reason)
  reject --reason R  the check fails; the applicant may send documents and retry
                     (mode RETRY) — add --final for a FINAL rejection, which a
                     second verifier must confirm with the same decision
  request_documents --reason R [--document TYPE…]
                     ask the applicant for documents that cure reason R

Reason codes and document types: GET /v1/verification/catalog. --message is shown
to the applicant, --note only to verifiers. The decision id defaults to a hash of
the task, the verifier and the decision, so re-running the same command is
answered as a replay (exit 0), never recorded twice.`,
		Example: `  partnerctl tasks decide vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 --outcome approve
  partnerctl tasks decide vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 --outcome reject --reason company_not_found --message "We could not find the company in the register."
  partnerctl tasks decide vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 --outcome reject --reason fraud_suspected --final
  partnerctl tasks decide vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 --outcome reject --reason fraud_suspected --final --as-sub second-verifier   # confirms
  partnerctl tasks decide vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 --outcome request_documents --reason company_not_found --document company_register_certificate`,
		Args: exactArgs("TASK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.outcome == "" {
				return usagef("--outcome is required: %s", strings.Join(outcomes, ", "))
			}
			if _, err := o.body(args[0], ""); err != nil {
				return err // flag mistakes before any token or network
			}
			tok, err := g.bearer(caller{role: auth.RoleVerifier})
			if err != nil {
				return err
			}
			body, _ := o.body(args[0], tokenSubject(tok))
			var out struct {
				CaseID   string `json:"case_id"`
				Decision struct {
					ID      string `json:"id"`
					Outcome string `json:"outcome"`
					Status  string `json:"status"`
					Check   string `json:"check"`
				} `json:"decision"`
				Replayed   bool   `json:"replayed"`
				CheckState string `json:"check_state"`
				CaseStatus string `json:"case_status"`
			}
			if printed, err := g.verifierCall(cmd, tok, "POST", "/v1/verification/tasks/"+url.PathEscape(args[0])+"/decisions", body, &out); printed || err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "decision %s %s: %s, status %s\ncheck %s is now %s; case %s is %s\n", out.Decision.ID, recorded(out.Replayed),
				out.Decision.Outcome, out.Decision.Status, out.Decision.Check, out.CheckState, out.CaseID, out.CaseStatus)
			if out.Decision.Status == "pending_confirmation" {
				fmt.Fprintln(g.stdout, "a second verifier must confirm this FINAL rejection (same command with another --as-sub)")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.outcome, "outcome", "", "approve, reject or request_documents (required)")
	f.StringVar(&o.reason, "reason", "", "reason code (reject, request_documents)")
	f.BoolVar(&o.final, "final", false, "a FINAL rejection (needs a second verifier); default RETRY")
	f.StringVar(&o.message, "message", "", "message shown to the applicant")
	f.StringVar(&o.note, "note", "", "internal note for verifiers")
	f.StringSliceVar(&o.documents, "document", nil, "document type(s) to request, repeatable")
	f.StringVar(&o.decisionID, "decision-id", "", "decision id (default: derived, so a re-run is a replay)")
	return cmd
}

// listFilter is one filter of a verifier's work list: the query key and the
// flag's value, checked against values where the filter has a fixed set.
type listFilter struct {
	flag, key, val string
	values         []string
}

// verifierListQuery is the query of a verifier's work list (tasks, reviews):
// the filters given and unclaimed; limit is checked (0: all).
func verifierListQuery(filters []listFilter, unclaimed bool, limit int) (url.Values, error) {
	q := url.Values{}
	for _, f := range filters {
		if f.val == "" {
			continue
		}
		if f.values != nil {
			if err := oneOf(f.flag, f.val, f.values); err != nil {
				return nil, err
			}
		}
		q.Set(f.key, f.val)
	}
	if unclaimed {
		q.Set("unclaimed", "true")
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	return q, nil
}

// verifierList reads a verifier's work list at path a page at a time
// (pages.Fetch) with the filters q: the items under key and the last page's
// next. With -o json it prints one object in the API's shape with every
// page's items and reports printed.
func (g *globals) verifierList(cmd *cobra.Command, tok, path, key string, q url.Values, limit int) (items []json.RawMessage, next string, printed bool, err error) {
	items, next, err = pages.Fetch(limit, maxVerifierPage, func(pq url.Values) ([]json.RawMessage, string, error) {
		for k, v := range q {
			pq[k] = v
		}
		ctx, cancel := g.withTimeout(cmd.Context())
		defer cancel()
		var page map[string]json.RawMessage
		if _, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Verification + path + "?" + pq.Encode(), token: tok}, &page); err != nil {
			return nil, "", err
		}
		var its []json.RawMessage
		var nx string
		if err := json.Unmarshal(page[key], &its); err != nil {
			return nil, "", fmt.Errorf("the verification service's answer: %s: %w", key, err)
		}
		_ = json.Unmarshal(page["next"], &nx)
		return its, nx, nil
	})
	if err != nil {
		return nil, "", false, err
	}
	if g.json() {
		return items, next, true, writeJSON(g.stdout, map[string]any{key: items, "next": next})
	}
	return items, next, false, nil
}

// verifierCall sends one request to the verification API with the
// verifier's token tok and decodes the answer into out. With -o json, or no
// out (a document to read as it is), it prints the answer as it came and
// reports printed: the caller prints its own view only when not.
func (g *globals) verifierCall(cmd *cobra.Command, tok, method, path string, body, out any) (printed bool, err error) {
	ctx, cancel := g.withTimeout(cmd.Context())
	defer cancel()
	req := request{method: method, url: g.urls.Verification + path, token: tok}
	if body != nil {
		req.body = jsonBody(body)
	}
	res, err := g.callJSON(ctx, req, out)
	if err != nil {
		return false, err
	}
	if g.json() || out == nil {
		writeRaw(g.stdout, res.body)
		return true, nil
	}
	return false, nil
}

// derivedDecisionID is the decision id of a verifier's decision given by
// parts (the task or review, the verifier, the decision): the same decision
// by the same verifier is the same id, so re-running the command is answered
// as a replay, not recorded twice.
func derivedDecisionID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "partnerctl-" + hex.EncodeToString(sum[:12])
}

// recorded says how a decision was taken: recorded now, or a replay.
func recorded(replayed bool) string {
	if replayed {
		return "already recorded (replay)"
	}
	return "recorded"
}
