package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/notifier/mails"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/pages"
)

func newMailCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mail",
		Short: "The notifier's mails: the catalog, a preview (terminal or .eml), what a partner was sent",
		Long: `Every mail the notifier sends is a directory of template files a person edits:
services/notifier/mails/templates/<id>/{ja,en}.{subject.txt,txt,html} and a
sample.yaml to preview it with; the words every mail shares (document and
reason names, roles, footers) are in templates/terms/<lang>.yaml. Each mail
carries both languages in both parts, the recipient's first.

'mail templates' lists them; 'mail render' renders one with its sample data (or
your own) to the terminal, as HTML, or as an .eml file a mail client opens. With
--templates it renders an edited copy of the directory (the notifier sends from
such a copy with MAIL_TEMPLATES_DIR), after checking the whole copy. 'mail list'
shows the mails a partner was sent and how each went.`,
		Example: `  partnerctl mail templates
  partnerctl mail render verification.documents_requested --lang en
  partnerctl mail list PG-PRTA-HD7W-NYE --status failed`,
		Args: noArgs,
		RunE: needSubcommand,
	}
	cmd.AddCommand(newMailTemplatesCmd(g), newMailRenderCmd(g), newMailListCmd(g))
	return cmd
}

func loadMailTemplates(dir string) (*mails.Set, error) {
	if dir == "" {
		return mails.Default()
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usagef("--templates %s: not a directory", dir)
	}
	set, err := mails.Load(os.DirFS(dir))
	if err != nil {
		return nil, usagef("--templates %s:\n%v", dir, err)
	}
	return set, nil
}

func newMailTemplatesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "templates",
		Short: "List every mail: template id, category, the event that sends it, the recipient",
		Long: `Lists the notifier's catalog of mails: each template id (a directory under
services/notifier/mails/templates), whether it is transactional (cannot be
unsubscribed) or a reminder (the partner may stop reminders), the event whose
consumption sends it and who receives it. -o json prints the catalog as JSON.`,
		Example: `  partnerctl mail templates
  partnerctl mail templates -o json | jq -r '.[] | select(.category == "reminder") | .id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.output == outputJSON {
				return writeJSON(g.stdout, mails.Kinds)
			}
			rows := make([][]string, len(mails.Kinds))
			for i, k := range mails.Kinds {
				rows[i] = []string{k.ID, string(k.Category), strings.TrimPrefix(k.Trigger, "com.partnerhub."), k.To}
			}
			return table(g.stdout, []string{"TEMPLATE", "CATEGORY", "SENT ON", "TO"}, rows)
		},
	}
}

func newMailRenderCmd(g *globals) *cobra.Command {
	var lang, dataFile, dir, eml, part, to string
	cmd := &cobra.Command{
		Use:   "render TEMPLATE [--lang ja|en] [--data FILE] [--templates DIR] [--part text|html] [--eml FILE]",
		Short: "Preview one mail: subject and text part (default), the HTML part, or a whole .eml",
		Long: `Renders TEMPLATE (see 'partnerctl mail templates') with its sample.yaml, or with
--data (YAML or JSON, the sample's shape: partner, verification, agreement,
relationship, expires_at, links, code), the --lang language first. It prints the
subject and the plain-text part; --part html prints the HTML part; --eml writes
the whole MIME message (the one the notifier sends, From no-reply@partnerhub.example)
to FILE for a mail client. No service is called.`,
		Example: `  partnerctl mail render verification.documents_requested
  partnerctl mail render relationships.invitation --lang en --part html > invitation.html
  partnerctl mail render verification.approved --eml approved.eml
  partnerctl mail render verification.rejected --templates ./my-templates --data case.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := loadMailTemplates(dir)
			if err != nil {
				return err
			}
			id := args[0]
			k, ok := mails.KindOf(id)
			if !ok {
				var ids []string
				for _, k := range mails.Kinds {
					ids = append(ids, k.ID)
				}
				return usagef("no mail %q; one of: %s", id, strings.Join(ids, ", "))
			}
			if lang != string(mails.Japanese) && lang != string(mails.English) {
				return usagef("--lang %q must be ja or en", lang)
			}
			var d mails.Data
			if dataFile == "" {
				d, err = set.Sample(id)
			} else {
				var raw []byte
				if raw, err = os.ReadFile(dataFile); err != nil {
					return usagef("--data: %v", err)
				}
				if d, err = mails.ParseData(raw); err != nil {
					return usagef("--data %s: %v", dataFile, err)
				}
			}
			if err != nil {
				return err
			}
			r, err := set.Render(id, mails.Language(lang), d)
			if err != nil {
				return usagef("%v", err)
			}
			if eml != "" {
				var buf bytes.Buffer
				env := mails.Envelope{ID: "preview-" + strings.ReplaceAll(id, ".", "-"), MessageIDDomain: "partnerhub.example",
					From: "no-reply@partnerhub.example", FromName: "Partner Onboarding", To: to, Rendered: r}
				if k.Category == mails.Reminder {
					env.Unsubscribe = d.Links.Unsubscribe
				}
				if err := mails.WriteEML(&buf, env); err != nil {
					return err
				}
				if err := os.WriteFile(eml, buf.Bytes(), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(g.stderr, "wrote %s (%d bytes): open it in a mail client\n", eml, buf.Len())
				return nil
			}
			switch part {
			case "text":
				fmt.Fprintf(g.stdout, "Subject: %s\n\n%s", r.Subject, r.Text)
			case "html":
				fmt.Fprint(g.stdout, r.HTML)
			default:
				return usagef("--part %q must be text or html", part)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&lang, "lang", "ja", "the language written first (ja or en); both are in every mail")
	f.StringVar(&dataFile, "data", "", "template data (YAML or JSON); default: the template's sample.yaml")
	f.StringVar(&dir, "templates", "", "an edited copy of services/notifier/mails/templates (default: the built-in templates)")
	f.StringVar(&part, "part", "text", "what to print: text (subject and plain-text part) or html")
	f.StringVar(&eml, "eml", "", "write the whole message to this .eml file instead")
	f.StringVar(&to, "to", "taro.yamada@example.co.jp", "the recipient of the .eml")
	return cmd
}

// mailStatuses are the statuses GET /v1/mails filters on.
var mailStatuses = []string{"pending", "sending", "delivered", "failed", "suppressed"}

// sentMail is the part of a notifier mail the table shows.
type sentMail struct {
	ID         string `json:"id"`
	Template   string `json:"template"`
	Recipient  string `json:"recipient"`
	Status     string `json:"status"`
	FailReason string `json:"fail_reason"`
	// SuppressedReason: why a suppressed mail was never sent.
	SuppressedReason string `json:"suppressed_reason"`
	Trigger          struct {
		Type string `json:"type"`
	} `json:"trigger"`
	Attempts []struct {
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
		Outcome    string    `json:"outcome"`
		SMTPCode   int       `json:"smtp_code"`
		Error      string    `json:"error"`
	} `json:"attempts"`
}

func newMailListCmd(g *globals) *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:   "list PARTNER_ID [--status pending|sending|delivered|failed|suppressed] [--limit N]",
		Short: "The mails a partner was sent, newest first, and how each went (operator)",
		Long: `GET {notifier}/v1/mails?partner_id=…, as an operator: the answer to "did the partner get the
mail?". One row per mail: its id, template, the address (masked, as the notifier shows it),
its status (failed with why: permanent_error, expired, attempts_exhausted; suppressed with
why it was never sent: reminders_off, superseded, no_net_change, address_removed), how many attempts, and the last one — when, its outcome, the SMTP server's reply code and error.
A line says when the partner stopped reminders. -o json prints the API's answer, each mail
with its trigger event and every attempt, every page's mails in one answer.`,
		Example: `  partnerctl mail list PG-PRTA-HD7W-NYE
  partnerctl mail list PG-PRTA-HD7W-NYE --status failed -o json | jq '.mails[].attempts'`,
		Args: exactArgs("PARTNER_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if status != "" {
				if err := oneOf("--status", status, mailStatuses); err != nil {
					return err
				}
			}
			if err := checkLimit(limit); err != nil {
				return err
			}
			tok, err := g.bearer(caller{role: auth.RoleOperator})
			if err != nil {
				return err
			}
			// The pages' partner and reminders_off are the first page's;
			// -o json prints one answer in the API's shape with every page's mails.
			var all struct {
				PartnerID    string            `json:"partner_id"`
				RemindersOff bool              `json:"reminders_off"`
				Mails        []json.RawMessage `json:"mails"`
				Next         string            `json:"next"`
			}
			first := true
			all.Mails, all.Next, err = pages.Fetch(limit, maxMailPage, func(q url.Values) ([]json.RawMessage, string, error) {
				q.Set("partner_id", args[0])
				if status != "" {
					q.Set("status", status)
				}
				ctx, cancel := g.withTimeout(cmd.Context())
				defer cancel()
				var page struct {
					PartnerID    string            `json:"partner_id"`
					RemindersOff bool              `json:"reminders_off"`
					Mails        []json.RawMessage `json:"mails"`
					Next         string            `json:"next"`
				}
				if _, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Notifier + "/v1/mails?" + q.Encode(), token: tok}, &page); err != nil {
					return nil, "", err
				}
				if first {
					all.PartnerID, all.RemindersOff, first = page.PartnerID, page.RemindersOff, false
				}
				return page.Mails, page.Next, nil
			})
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(g.stdout, all)
			}
			list := struct {
				RemindersOff bool
				Mails        []sentMail
			}{RemindersOff: all.RemindersOff}
			if err := decodeItems(all.Mails, &list.Mails); err != nil {
				return fmt.Errorf("the notifier's answer: %w", err)
			}
			rows := make([][]string, 0, len(list.Mails))
			for _, m := range list.Mails {
				st := m.Status
				if why := cmp.Or(m.FailReason, m.SuppressedReason); why != "" {
					st += " (" + why + ")"
				}
				last := "-"
				if n := len(m.Attempts); n > 0 {
					a := m.Attempts[n-1]
					at := a.FinishedAt
					if at.IsZero() {
						at = a.StartedAt
					}
					last = when(at) + " " + a.Outcome
					if a.SMTPCode != 0 {
						last += " " + strconv.Itoa(a.SMTPCode)
					}
					if a.Error != "" {
						last += ": " + a.Error
					}
				}
				rows = append(rows, []string{m.ID, m.Template, m.Recipient, st, strconv.Itoa(len(m.Attempts)), last})
			}
			if err := table(g.stdout, []string{"ID", "TEMPLATE", "TO", "STATUS", "ATTEMPTS", "LAST ATTEMPT"}, rows); err != nil {
				return err
			}
			if list.RemindersOff {
				fmt.Fprintln(g.stdout, "\nthe partner stopped reminders: reminder mails are suppressed")
			}
			moreWithLimit(g, all.Next, limit, len(rows), "mails")
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only mails in this status: "+strings.Join(mailStatuses, ", "))
	cmd.Flags().IntVar(&limit, "limit", defaultListLimit, "show at most this many mails, newest first (0: all)")
	return cmd
}
