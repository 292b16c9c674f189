package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/eventfmt"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/pages"
)

// maxTimelinePage is the timeline API's largest page.
const maxTimelinePage = 500

// timelinePage is GET /v1/partners/{id}/timeline.
type timelinePage struct {
	PartnerID string            `json:"partner_id"`
	Events    []json.RawMessage `json:"events"`
	Sources   []timelineSource  `json:"sources"`
	Next      string            `json:"next"`
}

type timelineEvent struct {
	ID       string    `json:"id"`
	Source   string    `json:"source"`
	Type     string    `json:"type"`
	Subject  string    `json:"subject"`
	Time     time.Time `json:"time"`
	Sequence string    `json:"sequence"` // zero-padded, as on the event
	AuthType string    `json:"authtype"`
	AuthID   string    `json:"authid"`
	// DeadLetter is set on a consumer's dead letter of the event.
	DeadLetter *struct {
		Code    string `json:"code"`
		Service string `json:"service"`
	} `json:"dead_letter"`
}

type timelineSource struct {
	Source        string   `json:"source"`
	Events        int      `json:"events"`
	LastSequence  string   `json:"last_sequence"`
	Gaps          []string `json:"gaps"` // missing sequences, zero-padded
	GapsTruncated bool     `json:"gaps_truncated,omitempty"`
}

func newTimelineCmd(g *globals) *cobra.Command {
	var typ string
	var limit int
	cmd := &cobra.Command{
		Use:   "timeline PG-… [--type PREFIX] [--limit N]",
		Short: "A partner's whole history, from every service, in order",
		Long: `GET {timeline}/v1/partners/{id}/timeline, following the "next" cursor through
every page, as an operator. The timeline service records every event about the
partner from every producer; the table shows time, source, the source's
per-partner sequence, type and actor. A row whose TYPE starts with "!!" is a
dead letter: the named service gave up on the event (with its code, then the
event's type; the time is when it gave up) — the usual answer to "why is this
partner stuck?" ('partnerctl deadletters list' shows the reason, replay retries).

At the end, per source: how many events, the last sequence, and gaps — sequence
numbers the timeline has not seen. A gap is the "why is it stuck" hint: the
producer has not relayed them yet (its outbox is stuck: is NATS reachable?), an
event was dead-lettered on the way ('partnerctl deadletters list'), or the
timeline consumer is behind. -o json prints one object in the API's shape with all
pages' events.`,
		Example: `  partnerctl timeline PG-PRTA-HD7W-NYE
  partnerctl timeline PG-PRTA-HD7W-NYE --type verification. --limit 20
  partnerctl timeline PG-PRTA-HD7W-NYE -o json | jq '.sources[] | select(.gaps | length > 0)'`,
		Args: exactArgs("PARTNER_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkLimit(limit); err != nil {
				return err
			}
			tok, err := g.bearer(caller{role: auth.RoleOperator})
			if err != nil {
				return err
			}
			ctx, cancel := g.withTimeout(cmd.Context())
			defer cancel()
			all := timelinePage{PartnerID: args[0]}
			all.Events, all.Next, err = pages.Fetch(limit, maxTimelinePage, func(q url.Values) ([]json.RawMessage, string, error) {
				if typ != "" {
					q.Set("type", typ)
				}
				var page timelinePage
				if _, err := g.callJSON(ctx, request{method: "GET", url: g.urls.Timeline + "/v1/partners/" + url.PathEscape(args[0]) + "/timeline?" + q.Encode(),
					token: tok}, &page); err != nil {
					return nil, "", err
				}
				all.Sources = page.Sources
				if page.PartnerID != "" {
					all.PartnerID = page.PartnerID
				}
				return page.Events, page.Next, nil
			})
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(g.stdout, all)
			}
			rows := make([][]string, 0, len(all.Events))
			for _, raw := range all.Events {
				var e timelineEvent
				if json.Unmarshal(raw, &e) != nil {
					continue
				}
				actor := e.AuthID
				if e.AuthType != "" {
					actor += " (" + e.AuthType + ")"
				}
				typ := topicOf(e.Type)
				if d := e.DeadLetter; d != nil {
					typ = "!! dead-lettered by " + d.Service + ": " + d.Code + " (" + typ + ")"
				}
				rows = append(rows, []string{when(e.Time), serviceOf(e.Source), trimSeq(e.Sequence), typ, actor})
			}
			if err := table(g.stdout, []string{"TIME", "SOURCE", "SEQ", "TYPE", "ACTOR"}, rows); err != nil {
				return err
			}
			moreWithLimit(g, all.Next, limit, len(all.Events), "events")
			fmt.Fprintln(g.stdout)
			srows := make([][]string, 0, len(all.Sources))
			stuck := false
			for _, s := range all.Sources {
				gaps := "none"
				if len(s.Gaps) > 0 {
					stuck = true
					missing := make([]string, len(s.Gaps))
					for i, gp := range s.Gaps {
						missing[i] = trimSeq(gp)
					}
					gaps = strings.Join(missing, ",")
					if s.GapsTruncated {
						gaps += ",…"
					}
				}
				srows = append(srows, []string{serviceOf(s.Source), strconv.Itoa(s.Events), trimSeq(s.LastSequence), gaps})
			}
			if err := table(g.stdout, []string{"SOURCE", "EVENTS", "LAST SEQ", "GAPS"}, srows); err != nil {
				return err
			}
			if stuck {
				fmt.Fprintln(g.stdout, "\ngaps: events the timeline has not seen — a producer's outbox not relayed yet (NATS down?), a dead letter on the way "+
					"('partnerctl deadletters list'), or the timeline consumer behind")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "only types with this prefix, e.g. verification. or registration.partner")
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many events (0: all)")
	return cmd
}

// trimSeq shows a zero-padded sequence as a number ("000000000012" → "12").
func trimSeq(s string) string {
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	return s
}

func serviceOf(source string) string { return eventfmt.Service(source) }

func topicOf(eventType string) string { return ce.Topic(eventType) }
