package cli

import (
	"bytes"

	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/services/notifier/mails"
)

func newMailCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mail",
		Short: "The notifier's mails: list them, preview one (terminal or .eml)",
		Long: `Every mail the notifier sends is a directory of template files a person edits:
services/notifier/mails/templates/<id>/{ja,en}.{subject.txt,txt,html} and a
sample.yaml to preview it with; the words every mail shares (document and
reason names, roles, footers) are in templates/terms/<lang>.yaml. Each mail
carries both languages in both parts, the recipient's first.

'mail templates' lists them; 'mail render' renders one with its sample data (or
your own) to the terminal, as HTML, or as an .eml file a mail client opens. With
--templates it renders an edited copy of the directory (the notifier sends from
such a copy with MAIL_TEMPLATES_DIR), after checking the whole copy.`,
		Example: `  partnerctl mail templates
  partnerctl mail render verification.documents_requested --lang en`,
		Args: noArgs,
		RunE: needSubcommand,
	}
	cmd.AddCommand(newMailTemplatesCmd(g), newMailRenderCmd(g))
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
