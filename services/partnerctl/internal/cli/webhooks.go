package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/pages"
)

// webhookEndpoint is the timeline's WebhookEndpoint (openapi.yaml); the
// secrets are described, never their value.
type webhookEndpoint struct {
	ID             string     `json:"id"`
	Consumer       string     `json:"consumer"`
	Scope          string     `json:"scope"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	EventTypes     []string   `json:"event_types"`
	Status         string     `json:"status"`
	DisabledReason string     `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	FailingSince   *time.Time `json:"failing_since"`
	Secrets        []struct {
		ID        string     `json:"id"`
		CreatedAt time.Time  `json:"created_at"`
		ExpiresAt *time.Time `json:"expires_at"`
	} `json:"secrets"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// webhookDelivery is the timeline's WebhookDelivery.
type webhookDelivery struct {
	ID            string     `json:"id"`
	EndpointID    string     `json:"endpoint_id"`
	EventSource   string     `json:"event_source"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// deliveryStates are the states the delivery log filters by.
var deliveryStates = []string{"pending", "succeeded", "failed", "cancelled"}

// maxWebhookPage is the largest page of the endpoint and delivery lists.
const maxWebhookPage = 200

// maxSecretOverlap is the longest the previous secret may keep signing.
const maxSecretOverlap = 7 * 24 * time.Hour

const secretWarning = "partnerctl: the signing secret is shown only this once: store it now (a lost secret can only be replaced: 'partnerctl webhooks rotate')"

type webhookCmds struct {
	g          *globals
	asUpstream bool
}

func newWebhooksCmd(g *globals) *cobra.Command {
	w := &webhookCmds{g: g}
	hooks := group("webhooks", "Webhook endpoints of the timeline: register, rotate secrets, read the delivery log, redeliver",
		`Webhook endpoints on the timeline (/v1/webhooks/endpoints): every event the endpoint's
consumer may see and its event types match is POSTed to its URL as a CloudEvent, signed per
Standard Webhooks, retried with backoff, logged, and the endpoint is disabled after
persistent failure. See the README, "Webhooks".

Every subcommand acts as an operator (who manages every endpoint, for any consumer), or
with --as-upstream as an upstream system managing its own (--as-sub names the system).
Signing secrets are printed only by 'create' and 'rotate', once; no other command shows them.`,
		"webhook")
	hooks.PersistentFlags().BoolVar(&w.asUpstream, "as-upstream", false,
		"act as an upstream system (its own endpoints; --as-sub names it) instead of an operator")
	hooks.AddCommand(w.create(), w.list(), w.show(), w.update(), w.toggle("disable"), w.toggle("enable"), w.remove(),
		w.rotate(), w.deliveries(), w.redeliver())
	return hooks
}

func (w *webhookCmds) base() string { return w.g.urls.Timeline + "/v1/webhooks/endpoints" }

func (w *webhookCmds) endpointURL(id string, rest ...string) string {
	return strings.Join(append([]string{w.base(), url.PathEscape(id)}, rest...), "/")
}

// call sends one request as the webhook caller and returns the answer.
func (w *webhookCmds) call(cmd *cobra.Command, method, u string, body []byte, out any) (response, error) {
	return w.callWith(cmd, request{method: method, url: u, body: body}, out)
}

// callWith sends req (its token set here) as the webhook caller.
func (w *webhookCmds) callWith(cmd *cobra.Command, req request, out any) (response, error) {
	tok, err := w.g.bearer(integrator(w.asUpstream))
	if err != nil {
		return response{}, err
	}
	ctx, cancel := w.g.withTimeout(cmd.Context())
	defer cancel()
	req.token = tok
	return w.g.callJSON(ctx, req, out)
}

// endpointCall sends a request answered by one endpoint and prints it.
func (w *webhookCmds) endpointCall(cmd *cobra.Command, method, u string, body []byte, note string) error {
	var ep webhookEndpoint
	res, err := w.call(cmd, method, u, body, &ep)
	if err != nil {
		return err
	}
	if w.g.json() {
		writeRaw(w.g.stdout, res.body)
		return nil
	}
	if note != "" {
		fmt.Fprintln(w.g.stdout, note)
	}
	return printEndpoint(w.g, ep)
}

func (w *webhookCmds) create() *cobra.Command {
	var target, description, consumer, scope, key string
	var types []string
	cmd := &cobra.Command{
		Use:   "create --url URL [--type PREFIX ...] [--description TEXT] [--consumer SUB --scope all|registered]",
		Short: "Register an endpoint; prints its signing secret, this once",
		Long: `POST {timeline}/v1/webhooks/endpoints. The endpoint is sent every event recorded from now on
that its consumer may see and that matches a --type (an event type or prefix,
"com.partnerhub." optional; none: every type). The URL must be https and public outside
development. Operators may register for another --consumer and choose --scope all (every
event, the default) or registered (the partners the consumer registered); an upstream
system's endpoint (--as-upstream) is always its own, scope registered.

The answer holds the signing secret (whsec_…): it is printed this once (with -o json, in
the API's answer) and never shown again. Store it where the receiver reads it.

Re-running is safe: the Idempotency-Key defaults to a hash of the request, so the same
command answers with the endpoint it created (marked "replayed", with the secret that
signs now) instead of a second endpoint sent every event twice. Pass --idempotency-key
to choose one yourself (a new key: a new endpoint); the same key with other flags is
refused (idempotency.key_reused, exit 4). Once the endpoint is deleted, its key creates
a new one.`,
		Example: `  partnerctl webhooks create --url https://crm.example.com/partnerhub --type registration.application. --type verification.case.
  partnerctl webhooks create --as-upstream --as-sub upstream-portal --url https://portal.example.com/hooks --description "portal sync"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(target) == "" {
				return usagef("--url is required")
			}
			if scope != "" && scope != "all" && scope != "registered" {
				return usagef("--scope %q must be all or registered", scope)
			}
			if w.asUpstream && (consumer != "" || scope != "") {
				return usagef("--consumer and --scope are for operators; an upstream system's endpoint is its own")
			}
			body := map[string]any{"url": target, "event_types": nonNil(types)}
			if description != "" {
				body["description"] = description
			}
			if consumer != "" {
				body["consumer"] = consumer
			}
			if scope != "" {
				body["scope"] = scope
			}
			var created struct {
				webhookEndpoint
				Secret string `json:"secret"`
			}
			raw := jsonBody(body)
			if key == "" {
				key = contentKey(raw)
			}
			if len(key) > 255 {
				return usagef("--idempotency-key is longer than 255 characters")
			}
			res, err := w.callWith(cmd, request{method: "POST", url: w.base(), body: raw,
				header: map[string]string{"Idempotency-Key": key}}, &created)
			if err != nil {
				return err
			}
			if res.header.Get("Idempotent-Replayed") == "true" {
				fmt.Fprintf(w.g.stderr, "replayed: this endpoint was created before under Idempotency-Key %s; nothing new was created (the secret is the one that signs now)\n", key)
			} else {
				fmt.Fprintln(w.g.stderr, secretWarning)
			}
			if w.g.json() {
				writeRaw(w.g.stdout, res.body)
				return nil
			}
			if err := printEndpoint(w.g, created.webhookEndpoint); err != nil {
				return err
			}
			_, err = fmt.Fprintf(w.g.stdout, "secret:       %s\n", created.Secret)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "url", "", "where deliveries are POSTed (https; required)")
	f.StringSliceVar(&types, "type", nil, "event types or prefixes to deliver (repeatable; none: every type)")
	f.StringVar(&description, "description", "", "what the endpoint is for")
	f.StringVar(&consumer, "consumer", "", "operators: the principal (subject) the endpoint delivers for (default: the caller)")
	f.StringVar(&scope, "scope", "", "operators: all (every event the consumer may see) or registered (the partners it registered)")
	f.StringVar(&key, "idempotency-key", "", "Idempotency-Key header (default: partnerctl- + hash of the request)")
	return cmd
}

func (w *webhookCmds) list() *cobra.Command {
	var consumer string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--consumer SUB] [--limit N]",
		Short: "The endpoints you manage (operators: every one), oldest first",
		Long: `GET {timeline}/v1/webhooks/endpoints, following "next" across pages. One row per endpoint:
id, status (with why it is disabled), consumer, scope, types, URL. -o json prints one
object in the API's shape with every page's endpoints.`,
		Example: `  partnerctl webhooks list
  partnerctl webhooks list --consumer upstream-portal -o json | jq -r '.endpoints[] | select(.status=="disabled") | .id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLimit(limit); err != nil {
				return err
			}
			var all struct {
				Endpoints []json.RawMessage `json:"endpoints"`
				Next      string            `json:"next"`
			}
			var err error
			all.Endpoints, all.Next, err = pages.Fetch(limit, maxWebhookPage, func(q url.Values) ([]json.RawMessage, string, error) {
				if consumer != "" {
					q.Set("consumer", consumer)
				}
				var page struct {
					Endpoints []json.RawMessage `json:"endpoints"`
					Next      string            `json:"next"`
				}
				if _, err := w.call(cmd, "GET", w.base()+"?"+q.Encode(), nil, &page); err != nil {
					return nil, "", err
				}
				return page.Endpoints, page.Next, nil
			})
			if err != nil {
				return err
			}
			if w.g.json() {
				return writeJSON(w.g.stdout, all)
			}
			rows := make([][]string, 0, len(all.Endpoints))
			for _, raw := range all.Endpoints {
				var ep webhookEndpoint
				if json.Unmarshal(raw, &ep) != nil {
					continue
				}
				rows = append(rows, []string{ep.ID, endpointStatus(ep), ep.Consumer, ep.Scope, eventTypes(ep.EventTypes), ep.URL})
			}
			if err := table(w.g.stdout, []string{"ENDPOINT", "STATUS", "CONSUMER", "SCOPE", "TYPES", "URL"}, rows); err != nil {
				return err
			}
			moreWithLimit(w.g, all.Next, limit, len(all.Endpoints), "endpoints")
			return nil
		},
	}
	cmd.Flags().StringVar(&consumer, "consumer", "", "only this consumer's endpoints")
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many endpoints (0: all)")
	return cmd
}

func (w *webhookCmds) show() *cobra.Command {
	return &cobra.Command{
		Use:   "show ENDPOINT",
		Short: "One endpoint: URL, types, status, its secrets (ids and expiry, never the value)",
		Long: `GET {timeline}/v1/webhooks/endpoints/{id}. The secrets that sign deliveries now are listed
by id, creation and expiry (a rotated-out secret signs until it expires); their value is
never shown again after 'create' or 'rotate'.`,
		Example: `  partnerctl webhooks show we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d`,
		Args:    exactArgs("ENDPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return w.endpointCall(cmd, "GET", w.endpointURL(args[0]), nil, "")
		},
	}
}

func (w *webhookCmds) update() *cobra.Command {
	var target, description string
	var types []string
	cmd := &cobra.Command{
		Use:   "update ENDPOINT [--url URL] [--type PREFIX ...] [--description TEXT]",
		Short: "Change an endpoint's URL, types or description (for events from now on)",
		Long: `PATCH {timeline}/v1/webhooks/endpoints/{id} with the flags given; the others stay as they
are. --type replaces the whole list; --type "" delivers every type.`,
		Example: `  partnerctl webhooks update we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d --type registration. --type agreements.`,
		Args:    exactArgs("ENDPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("url") {
				body["url"] = target
			}
			if cmd.Flags().Changed("description") {
				body["description"] = description
			}
			if cmd.Flags().Changed("type") {
				body["event_types"] = nonNil(slices.DeleteFunc(types, func(s string) bool { return strings.TrimSpace(s) == "" }))
			}
			if len(body) == 0 {
				return usagef("nothing to change: give --url, --type or --description")
			}
			return w.endpointCall(cmd, "PATCH", w.endpointURL(args[0]), jsonBody(body), "")
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "url", "", "the new URL")
	f.StringSliceVar(&types, "type", nil, "the new event types or prefixes (repeatable; replaces the list)")
	f.StringVar(&description, "description", "", "the new description")
	return cmd
}

func (w *webhookCmds) toggle(action string) *cobra.Command {
	short, long, note := "Stop deliveries to an endpoint (pending ones are cancelled)",
		`POST {timeline}/v1/webhooks/endpoints/{id}/disable: no more deliveries; those still due are cancelled.`,
		"disabled: no more deliveries ('partnerctl webhooks enable' resumes them)"
	if action == "enable" {
		short, long, note = "Resume deliveries to an endpoint (for events from now on)",
			`POST {timeline}/v1/webhooks/endpoints/{id}/enable: deliveries resume for the events recorded from
now on, also after the timeline disabled it for persistent failure. The events in between
are not delivered: read them from the feed ('partnerctl feed list --after …').`,
			"enabled: events from now on are delivered (catch up on the others with 'partnerctl feed list')"
	}
	return &cobra.Command{
		Use:     action + " ENDPOINT",
		Short:   short,
		Long:    long,
		Example: "  partnerctl webhooks " + action + " we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d",
		Args:    exactArgs("ENDPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return w.endpointCall(cmd, "POST", w.endpointURL(args[0], action), nil, note)
		},
	}
}

func (w *webhookCmds) remove() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ENDPOINT",
		Short:   "Delete an endpoint with its secrets and delivery log",
		Long:    `DELETE {timeline}/v1/webhooks/endpoints/{id}. Use 'disable' to stop deliveries but keep the log.`,
		Example: `  partnerctl webhooks delete we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d`,
		Args:    exactArgs("ENDPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := w.call(cmd, "DELETE", w.endpointURL(args[0]), nil, nil); err != nil {
				return err
			}
			if !w.g.json() {
				fmt.Fprintf(w.g.stdout, "deleted %s\n", args[0])
			}
			return nil
		},
	}
}

func (w *webhookCmds) rotate() *cobra.Command {
	var overlap time.Duration
	cmd := &cobra.Command{
		Use:   "rotate ENDPOINT [--previous-expires-in 24h]",
		Short: "Give an endpoint a new signing secret; prints it, this once",
		Long: `POST {timeline}/v1/webhooks/endpoints/{id}/secret/rotate. Until the previous secret expires
(--previous-expires-in, 0 to 168h, whole seconds; default 24h) every delivery carries one
signature per current secret, so the receiver can switch at its own pace. The new secret
is printed this once (with -o json, in the API's answer) and never shown again.`,
		Example: `  partnerctl webhooks rotate we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d --previous-expires-in 1h`,
		Args:    exactArgs("ENDPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if overlap < 0 || overlap > maxSecretOverlap || overlap%time.Second != 0 {
				return usagef("--previous-expires-in %s must be whole seconds between 0 and %s", overlap, maxSecretOverlap)
			}
			var rotated struct {
				Endpoint                webhookEndpoint `json:"endpoint"`
				Secret                  string          `json:"secret"`
				PreviousSecretExpiresAt time.Time       `json:"previous_secret_expires_at"`
			}
			body := jsonBody(map[string]any{"previous_secret_expires_in": int64(overlap / time.Second)})
			res, err := w.call(cmd, "POST", w.endpointURL(args[0], "secret", "rotate"), body, &rotated)
			if err != nil {
				return err
			}
			fmt.Fprintln(w.g.stderr, secretWarning)
			if w.g.json() {
				writeRaw(w.g.stdout, res.body)
				return nil
			}
			_, err = fmt.Fprintf(w.g.stdout, "endpoint:              %s\nnew secret:            %s\nprevious secret until: %s\n",
				rotated.Endpoint.ID, rotated.Secret, when(rotated.PreviousSecretExpiresAt))
			return err
		},
	}
	cmd.Flags().DurationVar(&overlap, "previous-expires-in", 24*time.Hour, "how long the previous secret keeps signing (0 to 168h)")
	return cmd
}

func (w *webhookCmds) deliveries() *cobra.Command {
	var state string
	var limit int
	cmd := &cobra.Command{
		Use:   "deliveries ENDPOINT [--state pending|succeeded|failed|cancelled] [--limit N]",
		Short: "An endpoint's delivery log, newest first",
		Long: `GET {timeline}/v1/webhooks/endpoints/{id}/deliveries, following "next" across pages. One row
per delivery: its id (for 'redeliver'), state, attempts, the last HTTP status and error,
the event's type and id (also the webhook-id header), and when it is tried next (pending)
or last changed. -o json prints one object in the API's shape, with each delivery's
attempt log (time, status, error, the first 256 bytes of the answer).`,
		Example: `  partnerctl webhooks deliveries we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d --state failed
  partnerctl webhooks deliveries we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d -o json | jq '.deliveries[0].attempt_log'`,
		Args: exactArgs("ENDPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if state != "" {
				if err := oneOf("--state", state, deliveryStates); err != nil {
					return err
				}
			}
			if err := checkLimit(limit); err != nil {
				return err
			}
			var all struct {
				Deliveries []json.RawMessage `json:"deliveries"`
				Next       string            `json:"next"`
			}
			var err error
			all.Deliveries, all.Next, err = pages.Fetch(limit, maxWebhookPage, func(q url.Values) ([]json.RawMessage, string, error) {
				if state != "" {
					q.Set("state", state)
				}
				var page struct {
					Deliveries []json.RawMessage `json:"deliveries"`
					Next       string            `json:"next"`
				}
				if _, err := w.call(cmd, "GET", w.endpointURL(args[0], "deliveries")+"?"+q.Encode(), nil, &page); err != nil {
					return nil, "", err
				}
				return page.Deliveries, page.Next, nil
			})
			if err != nil {
				return err
			}
			if w.g.json() {
				return writeJSON(w.g.stdout, all)
			}
			rows := make([][]string, 0, len(all.Deliveries))
			for _, raw := range all.Deliveries {
				var d webhookDelivery
				if json.Unmarshal(raw, &d) != nil {
					continue
				}
				rows = append(rows, deliveryRow(d))
			}
			if err := table(w.g.stdout, deliveryHeader, rows); err != nil {
				return err
			}
			moreWithLimit(w.g, all.Next, limit, len(all.Deliveries), "deliveries")
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only deliveries in this state: "+strings.Join(deliveryStates, ", "))
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most this many deliveries (0: all)")
	return cmd
}

func (w *webhookCmds) redeliver() *cobra.Command {
	return &cobra.Command{
		Use:   "redeliver ENDPOINT DELIVERY",
		Short: "Send a delivery again now (one more attempt)",
		Long: `POST {timeline}/v1/webhooks/endpoints/{id}/deliveries/{delivery}/redeliver: the delivery is
queued for one attempt now (a finished one gets one more, without retries); the delivery
log shows how it went ('partnerctl webhooks deliveries ENDPOINT'). The receiver gets the
same webhook-id as before: it should treat it as a repeat.`,
		Example: `  partnerctl webhooks redeliver we_019ae0f4c2d87a3b9e1f4c5d6a7b8c9d wd_019ae0f5a1b27c3d8e9f0a1b2c3d4e5f`,
		Args:    exactArgs("ENDPOINT", "DELIVERY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d webhookDelivery
			res, err := w.call(cmd, "POST", w.endpointURL(args[0], "deliveries", url.PathEscape(args[1]), "redeliver"), nil, &d)
			if err != nil {
				return err
			}
			if w.g.json() {
				writeRaw(w.g.stdout, res.body)
				return nil
			}
			fmt.Fprintf(w.g.stdout, "queued: %s is sent again now ('partnerctl webhooks deliveries %s' shows the attempt)\n", d.ID, args[0])
			return table(w.g.stdout, deliveryHeader, [][]string{deliveryRow(d)})
		},
	}
}

var deliveryHeader = []string{"DELIVERY", "STATE", "ATTEMPTS", "LAST STATUS", "LAST ERROR", "EVENT TYPE", "EVENT ID", "NEXT/UPDATED"}

func deliveryRow(d webhookDelivery) []string {
	status := "-"
	if d.LastStatus > 0 {
		status = strconv.Itoa(d.LastStatus)
	}
	at := when(d.UpdatedAt)
	if d.State == "pending" && d.NextAttemptAt != nil {
		at = "next " + when(*d.NextAttemptAt)
	}
	return []string{d.ID, d.State, strconv.Itoa(d.Attempts), status, truncate(d.LastError, 60), topicOf(d.EventType), d.EventID, at}
}

// printEndpoint prints one endpoint for a person (never a secret's value).
func printEndpoint(g *globals, ep webhookEndpoint) error {
	desc := ep.Description
	if desc == "" {
		desc = "-"
	}
	lines := [][2]string{
		{"endpoint", ep.ID}, {"status", endpointStatus(ep)}, {"url", ep.URL}, {"types", eventTypes(ep.EventTypes)},
		{"consumer", ep.Consumer + " (scope " + ep.Scope + ")"}, {"description", desc},
	}
	if ep.FailingSince != nil {
		lines = append(lines, [2]string{"failing since", when(*ep.FailingSince)})
	}
	for _, s := range ep.Secrets {
		v := s.ID + " created " + when(s.CreatedAt)
		if s.ExpiresAt != nil {
			v += ", signs until " + when(*s.ExpiresAt)
		}
		lines = append(lines, [2]string{"signing key", v})
	}
	lines = append(lines, [2]string{"created", when(ep.CreatedAt) + " by " + ep.CreatedBy}, [2]string{"updated", when(ep.UpdatedAt)})
	for _, l := range lines {
		if _, err := fmt.Fprintf(g.stdout, "%s %s\n", pad(l[0]+":", 13), l[1]); err != nil {
			return err
		}
	}
	return nil
}

func endpointStatus(ep webhookEndpoint) string {
	if ep.Status == "disabled" && ep.DisabledReason != "" {
		s := "disabled (" + strings.ReplaceAll(ep.DisabledReason, "_", " ")
		if ep.DisabledAt != nil {
			s += " at " + when(*ep.DisabledAt)
		}
		return s + ")"
	}
	return ep.Status
}

func eventTypes(types []string) string {
	if len(types) == 0 {
		return "every type"
	}
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = topicOf(t)
	}
	return strings.Join(out, ",")
}

// nonNil makes an absent list an empty JSON array.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
