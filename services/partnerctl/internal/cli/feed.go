package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/eventfmt"
)

// maxFeedPage is the feed API's largest page.
const maxFeedPage = 500

// feedPage is GET /v1/events.
type feedPage struct {
	Events  []json.RawMessage `json:"events"`
	Next    string            `json:"next"`
	HasMore bool              `json:"has_more"`
}

// integrator is who the feed and webhook commands act as: an operator
// (every event, every endpoint), or with --as-upstream an upstream system
// (its own partners and endpoints; --as-sub names it).
func integrator(asUpstream bool) caller {
	if asUpstream {
		return caller{role: auth.RoleUpstreamSystem, kind: auth.KindService}
	}
	return caller{role: auth.RoleOperator}
}

func newFeedCmd(g *globals) *cobra.Command {
	feed := group("feed", "The HTTP event feed of the timeline: every event you may see, in order, with a cursor",
		`The timeline's GET /v1/events: every event the caller may see, from every producer, in
the order the timeline recorded them, as CloudEvents (structured JSON mode), with an
opaque cursor. For systems that speak HTTP rather than NATS, and for catching up after
an outage (events are kept at least 30 days). See the README, "The event feed".`)
	feed.AddCommand(newFeedListCmd(g))
	return feed
}

type feedOptions struct {
	after      string
	types      []string
	partner    string
	limit      int
	follow     bool
	interval   time.Duration
	asUpstream bool
}

func (o feedOptions) query(size int, after string) string {
	q := url.Values{"limit": {strconv.Itoa(size)}}
	for _, t := range o.types {
		q.Add("type", t)
	}
	if o.partner != "" {
		q.Set("partner", o.partner)
	}
	if after != "" {
		q.Set("after", after)
	}
	return q.Encode()
}

func newFeedListCmd(g *globals) *cobra.Command {
	var o feedOptions
	cmd := &cobra.Command{
		Use:   "list [--after CURSOR] [--type PREFIX ...] [--partner PG-…] [--limit N] [--follow [--interval 2s]]",
		Short: "Page through the event feed, or follow it",
		Long: `GET {timeline}/v1/events, as an operator (every event), or with --as-upstream as an
upstream system (the events about the partners it registered and the rejections of its
intake registrations; --as-sub names the system). Without --after it starts at the oldest
event kept; pass the cursor it prints ("next: …") as --after to go on from there later.
One line per event, as 'events tail' prints them:

  <time UTC> <source service> <type> <subject> seq <partition sequence> <key data fields>

--type keeps types starting with a prefix ("com.partnerhub." optional), repeatable: any
matches. --limit N shows at most N events (default 100, following the API's cursor across
pages; 0: everything). -o json prints one object in the API's shape (every page's events,
the last next and has_more).

--follow keeps polling for new events every --interval until interrupted (Ctrl-C, exit
0), or until --limit events when given, or for --timeout when given (then, with --limit
not reached, exit 1); the cursor to resume from is printed when it stops. With -o json it
prints each event as one line of JSON. A development token is minted afresh for each poll;
a network or server error is reported on stderr and retried at the next poll.`,
		Example: `  # the first 100 events, then the next ones
  partnerctl feed list
  partnerctl feed list --after eyJ4Ijo…

  # what an upstream system's integration sees, live
  partnerctl feed list --as-upstream --as-sub upstream-portal --type registration.application. --type verification.case. --follow

  # one partner's events as JSON
  partnerctl feed list --partner PG-PRTA-HD7W-NYE --limit 0 -o json | jq -r '.events[].type'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLimit(o.limit); err != nil {
				return err
			}
			if o.interval < 100*time.Millisecond {
				return usagef("--interval must be at least 100ms")
			}
			if o.follow {
				if !cmd.Flags().Changed("limit") {
					o.limit = 0
				}
				var deadline time.Duration
				if cmd.Flags().Changed("timeout") || cmd.Root().PersistentFlags().Changed("timeout") {
					deadline = g.timeout
				}
				return g.followFeed(cmd.Context(), o, deadline)
			}
			return g.listFeed(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.after, "after", "", "start after this cursor (the next of an earlier answer)")
	f.StringSliceVar(&o.types, "type", nil, "only types with this prefix, e.g. registration.application. (repeatable: any matches)")
	f.StringVar(&o.partner, "partner", "", "only this partner's events (PG-…)")
	f.IntVar(&o.limit, "limit", 100, "show at most this many events (0: all; with --follow: stop after this many)")
	f.BoolVar(&o.follow, "follow", false, "keep polling for new events until interrupted")
	f.DurationVar(&o.interval, "interval", 2*time.Second, "with --follow: how long to wait between polls when there is nothing new")
	f.BoolVar(&o.asUpstream, "as-upstream", false, "act as an upstream system (its own partners' events) instead of an operator")
	return cmd
}

// fetchFeed gets one page after cursor.
func (g *globals) fetchFeed(ctx context.Context, o feedOptions, size int, cursor string) (feedPage, error) {
	tok, err := g.bearer(integrator(o.asUpstream))
	if err != nil {
		return feedPage{}, err
	}
	var page feedPage
	_, err = g.callJSON(ctx, request{method: "GET", url: g.urls.Timeline + "/v1/events?" + o.query(size, cursor), token: tok}, &page)
	return page, err
}

func (g *globals) listFeed(ctx context.Context, o feedOptions) error {
	ctx, cancel := g.withTimeout(ctx)
	defer cancel()
	all := feedPage{Events: []json.RawMessage{}, Next: o.after}
	for {
		size := maxFeedPage
		if o.limit > 0 && o.limit-len(all.Events) < size {
			size = o.limit - len(all.Events)
		}
		page, err := g.fetchFeed(ctx, o, size, all.Next)
		if err != nil {
			return err
		}
		all.Events = append(all.Events, page.Events...)
		all.HasMore = page.HasMore
		if page.Next != "" {
			all.Next = page.Next
		}
		if !page.HasMore || len(page.Events) == 0 || o.limit > 0 && len(all.Events) >= o.limit {
			break
		}
	}
	if g.json() {
		return writeJSON(g.stdout, all)
	}
	for _, raw := range all.Events {
		fmt.Fprintln(g.stdout, feedLine(raw))
	}
	more := ""
	if all.HasMore {
		more = " (more events are waiting: run again with --after, or a higher --limit)"
	}
	_, err := fmt.Fprintf(g.stdout, "next: %s%s\n", all.Next, more)
	return err
}

func (g *globals) followFeed(ctx context.Context, o feedOptions, deadline time.Duration) error {
	parent := ctx
	if deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, deadline)
		defer cancel()
	}
	cursor, count := o.after, 0
	stopped := func() error {
		if !g.json() {
			fmt.Fprintf(g.stdout, "next: %s\n", cursor)
		} else {
			fmt.Fprintf(g.stderr, "partnerctl: resume with --after %s\n", cursor)
		}
		if o.limit > 0 && count < o.limit && parent.Err() == nil && ctx.Err() != nil {
			return fmt.Errorf("timed out after %s with %d of %d events", deadline, count, o.limit)
		}
		return nil // Ctrl-C, --limit reached, or the --timeout without --limit
	}
	for {
		size := maxFeedPage
		if o.limit > 0 && o.limit-count < size {
			size = o.limit - count
		}
		rctx, cancel := g.withTimeout(ctx)
		page, err := g.fetchFeed(rctx, o, size, cursor)
		cancel()
		var ae *apiError
		switch {
		case ctx.Err() != nil:
			return stopped()
		case errors.As(err, &ae) && ae.status < 500 && ae.status != 429:
			return err // the request is wrong or not allowed: polling again will not help
		case err != nil:
			if errors.As(err, &usageError{}) || errors.As(err, &authError{}) {
				return err
			}
			fmt.Fprintf(g.stderr, "partnerctl: %v (trying again in %s)\n", err, o.interval)
			page = feedPage{}
		}
		for _, raw := range page.Events {
			if g.json() {
				writeRaw(g.stdout, compact(raw))
			} else {
				fmt.Fprintln(g.stdout, feedLine(raw))
			}
			count++
		}
		if page.Next != "" {
			cursor = page.Next
		}
		if o.limit > 0 && count >= o.limit {
			return stopped()
		}
		if page.HasMore {
			continue
		}
		select {
		case <-ctx.Done():
			return stopped()
		case <-time.After(o.interval):
		}
	}
}

// feedLine renders one feed entry (a structured-mode CloudEvent) in the
// line format of 'events tail'.
func feedLine(raw json.RawMessage) string {
	ev, err := ce.Decode(map[string]string{"content-type": ce.StructuredContentType}, raw)
	if err != nil {
		return "?? not a CloudEvent (" + err.Error() + "): " + truncate(string(raw), 200)
	}
	return eventfmt.Line(eventfmt.Item{Event: ev})
}

// compact removes the indentation an API may have put in raw, changing
// nothing else.
func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
