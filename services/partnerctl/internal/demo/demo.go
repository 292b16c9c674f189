// Package demo drives one Japanese company through the whole onboarding on
// a running stack — registration, mail, ownership, review, approval,
// agreement, provider invitation and consent — printing each event as it
// passes on JetStream. It talks to the services only through their public
// APIs, the mail catcher's files and the bus, like any integrator would.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/eventfmt"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/pages"
)

// Config says where the stack is.
type Config struct {
	NATSURL                                                               string
	NATSUser, NATSPassword                                                string // empty: a bus without users
	MailDir                                                               string // the notifier's local catcher
	KeysDir                                                               string // dev signing key
	Registration, EmailOwnership, Verification, Agreements, Relationships string
	Out                                                                   io.Writer
	Timeout                                                               time.Duration // per step
	// HTTPClient makes every API call (nil: http.DefaultClient); tests plug in
	// a validating or recording transport here.
	HTTPClient *http.Client
}

// Defaults are the addresses `make run` prints.
func Defaults(root string) Config {
	return Config{NATSURL: "nats://127.0.0.1:4222", MailDir: filepath.Join(root, ".run", "mail"), KeysDir: filepath.Join(root, ".run", "dev-keys"),
		Registration: "http://127.0.0.1:8081", EmailOwnership: "http://127.0.0.1:8082", Verification: "http://127.0.0.1:8083",
		Agreements: "http://127.0.0.1:8084", Relationships: "http://127.0.0.1:8085", Out: os.Stdout, Timeout: 15 * time.Second}
}

// Result is what the demo produced.
type Result struct {
	ResellerID, ResellerLocation, ProviderID, RelationshipID string
	Events                                                   int
}

type runner struct {
	cfg    Config
	signer *auth.Signer
	start  time.Time
	mu     sync.Mutex
	seen   []ce.Event
}

// Run executes the demo; the error names the step that failed.
func Run(ctx context.Context, cfg Config) (Result, error) {
	signer, err := auth.EnsureDevKeys(cfg.KeysDir)
	if err != nil {
		return Result{}, fmt.Errorf("dev keys: %w", err)
	}
	r := &runner{cfg: cfg, signer: signer, start: time.Now()}
	stop, err := r.tail(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("tail events: %w", err)
	}
	defer stop()
	suffix := fmt.Sprintf("%04d", time.Now().UnixNano()%10000)
	res := Result{}
	reseller, err := r.onboard(ctx, "株式会社サンプル商事", "9010401123456", "丸の内5-2-3", "千代田区", "100-0005", "sample-shoji.co.jp", "indirect_reseller", suffix)
	if err != nil {
		return res, err
	}
	res.ResellerID, res.ResellerLocation = reseller.partner, reseller.location
	provider, err := r.onboard(ctx, "さくらクラウドテック株式会社", "2011001234567", "西新宿2-8-1", "新宿区", "163-8001", "sakura-cloudtech.co.jp", "indirect_provider", suffix)
	if err != nil {
		return res, err
	}
	res.ProviderID = provider.partner

	r.step("provider invites the reseller (least-privilege roles, 365 days)")
	padm := r.token(auth.Principal{Subject: "provider-admin-" + suffix, PartnerID: provider.partner, Roles: []auth.Role{auth.RoleProviderAdmin}})
	var req struct {
		RelationshipID string `json:"relationship_id"`
		InvitationURL  string `json:"invitation_url"`
		Code           string `json:"code"`
	}
	// The relationships service learns that both partners are active from
	// registration's events, a moment after registration's API shows it.
	var inviteErr error
	if err := r.waitFor(ctx, "the relationships service to see both partners active", func() bool {
		status, err := r.do(ctx, "POST", r.cfg.Relationships+"/v1/relationship-requests", padm, map[string]any{"reseller_location_id": reseller.location}, &req)
		switch {
		case err != nil:
			inviteErr = err
		case status == 201:
		case req.Code == "relationships.provider_not_active" || req.Code == "relationships.reseller_not_active" || req.Code == "relationships.reseller_unknown":
			return false
		default:
			inviteErr = fmt.Errorf("invite: status %d (%s)", status, req.Code)
		}
		return true
	}); err != nil {
		return res, err
	}
	if inviteErr != nil {
		return res, inviteErr
	}
	_, token, _ := strings.Cut(req.InvitationURL, "#token=")
	radm := r.token(auth.Principal{Subject: "reseller-admin-" + suffix, PartnerID: reseller.partner, Roles: []auth.Role{auth.RolePartnerAdmin}})
	var view map[string]any
	if err := r.callH(ctx, "GET", r.cfg.Relationships+"/v1/invitation", radm, nil, 200, &view, "Invitation-Token", token); err != nil {
		return res, err
	}
	r.say("reseller sees: %v, %v, roles %v for %v days", view["provider_legal_name"], view["provider_address"], view["roles"], view["duration_days"])
	r.step("reseller's administrator authorises")
	var grant map[string]any
	if err := r.call(ctx, "POST", r.cfg.Relationships+"/v1/invitation/authorise", radm, map[string]any{"token": token, "consent": true}, 200, &grant); err != nil {
		return res, err
	}
	res.RelationshipID = req.RelationshipID
	if err := r.waitEvent(ctx, "relationships.access.granted.v1", reseller.partner); err != nil {
		return res, err
	}
	r.say("grant %v: %v until %v", grant["grant_id"], grant["roles"], grant["expires_at"])
	r.mu.Lock()
	res.Events = len(r.seen)
	r.mu.Unlock()
	r.say("done in %s: %d events", time.Since(r.start).Round(time.Millisecond), res.Events)
	return res, nil
}

type onboarded struct{ partner, location string }

func (r *runner) onboard(ctx context.Context, name, number, line1, city, postal, domain, program, suffix string) (onboarded, error) {
	var out onboarded
	up := r.token(auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	r.step(fmt.Sprintf("register %s (%s)", name, program))
	programs := []map[string]any{{"program": "partner_network"}, {"program": program}}
	if program == "indirect_reseller" {
		programs[1]["support"] = map[string]any{"website": "https://" + domain + "/support", "email": "support@" + domain}
	}
	body := map[string]any{"market": "JP", "language": "ja",
		"company": map[string]any{"legal_name": name, "phone": "03-1234-5678", "website": "https://www." + domain,
			"address":             map[string]any{"line1": line1, "city": city, "region": "東京都", "postal_code": postal},
			"registration_number": map[string]any{"scheme": "jp_corporate_number", "value": number}},
		"contact":      map[string]any{"first_name": "一郎", "last_name": "鈴木", "email": "ichiro.suzuki" + suffix + "@" + domain, "phone": "090-2222-3333"},
		"programs":     programs,
		"affirmations": map[string]any{"authority_to_represent": true, "consent_to_verification": true, "accept_network_terms": true, "can_provide_support": true}}
	var reg struct {
		PartnerID   string `json:"partner_id"`
		LocationID  string `json:"location_id"`
		Enrollments []struct {
			ID string `json:"id"`
		} `json:"enrollments"`
		Code string `json:"code"`
	}
	status, err := r.do(ctx, "POST", r.cfg.Registration+"/v1/registrations", up, body, &reg)
	if err != nil {
		return out, err
	}
	if status == 409 && reg.Code == "registration.duplicate_entity" {
		return out, fmt.Errorf("register %s: already registered in this database (the demo uses fixed companies from the register file; run it on a fresh stack: rm -rf .run/nats and drop database onboarding)", name)
	}
	if status != 201 {
		return out, fmt.Errorf("register %s: status %d (%s)", name, status, reg.Code)
	}
	out = onboarded{partner: reg.PartnerID, location: reg.LocationID}
	r.say("partner %s, location %s (pending)", reg.PartnerID, reg.LocationID)

	r.step("confirmation mails arrive; the contact opens each link and presses its button")
	links, err := r.mailLinks(ctx, "ichiro.suzuki"+suffix+"@"+domain, len(reg.Enrollments))
	if err != nil {
		return out, err
	}
	for _, l := range links {
		// The link shows the address and a button (opening it confirms
		// nothing: mail scanners open links too); the button posts the token.
		if err := r.call(ctx, "GET", l, "", nil, 200, nil); err != nil {
			return out, fmt.Errorf("confirm link: %w", err)
		}
		u, err := neturl.Parse(l)
		if err != nil {
			return out, err
		}
		form := neturl.Values{"token": {u.Query().Get("token")}}
		u.RawQuery = ""
		if err := r.call(ctx, "POST", u.String(), "", form, 200, nil); err != nil {
			return out, fmt.Errorf("confirm button: %w", err)
		}
	}
	if err := r.waitEvent(ctx, "verification.task.created.v1", reg.PartnerID); err != nil {
		return out, err
	}
	r.step("a verifier claims the company review task and approves")
	ver := r.token(auth.Principal{Kind: auth.KindService, Subject: "verifier-bot", Roles: []auth.Role{auth.RoleVerifier}})
	// The queue holds every partner's open tasks: page through it, as a
	// verifier does (on a stack with more than a page of other partners'
	// tasks, the first page did not hold this one's).
	open, _, err := pages.Fetch(0, 500, func(q neturl.Values) ([]json.RawMessage, string, error) {
		q.Set("status", "open")
		var page struct {
			Tasks []json.RawMessage `json:"tasks"`
			Next  string            `json:"next"`
		}
		err := r.call(ctx, "GET", r.cfg.Verification+"/v1/verification/tasks?"+q.Encode(), ver, nil, 200, &page)
		return page.Tasks, page.Next, err
	})
	if err != nil {
		return out, err
	}
	taskID := ""
	for _, raw := range open {
		var t struct {
			PartnerID string `json:"partner_id"`
			Task      struct {
				ID string `json:"id"`
			} `json:"task"`
		}
		if json.Unmarshal(raw, &t) == nil && t.PartnerID == reg.PartnerID {
			taskID = t.Task.ID
		}
	}
	if taskID == "" {
		return out, fmt.Errorf("no review task for %s", reg.PartnerID)
	}
	if err := r.call(ctx, "POST", r.cfg.Verification+"/v1/verification/tasks/"+taskID+"/claim", ver, nil, 200, nil); err != nil {
		return out, err
	}
	if err := r.call(ctx, "POST", r.cfg.Verification+"/v1/verification/tasks/"+taskID+"/decisions", ver,
		map[string]any{"decision_id": "demo-" + taskID, "outcome": "approve"}, 201, nil); err != nil {
		return out, err
	}
	if err := r.waitEvent(ctx, "registration.partner.activated.v1", reg.PartnerID); err != nil {
		return out, err
	}
	r.step("the partner's administrator accepts the " + program + " agreement")
	adm := r.token(auth.Principal{Subject: "admin-" + suffix, Name: "鈴木 一郎", PartnerID: reg.PartnerID, Roles: []auth.Role{auth.RolePartnerAdmin}})
	var versions struct {
		Versions []struct {
			ID string `json:"id"`
		} `json:"versions"`
	}
	if err := r.call(ctx, "GET", r.cfg.Agreements+"/v1/agreements/versions?program="+program+"&market=JP", adm, nil, 200, &versions); err != nil {
		return out, err
	}
	if len(versions.Versions) == 0 {
		return out, fmt.Errorf("no %s agreement version published", program)
	}
	// 201 recorded, or 202: agreements has not heard the approval yet and
	// records the acceptance when it does. Either way, registration's
	// "active" is the signal to wait for.
	status, err = r.do(ctx, "POST", r.cfg.Agreements+"/v1/partners/"+reg.PartnerID+"/agreements/acceptances", adm,
		map[string]any{"version_id": versions.Versions[0].ID, "market": "JP"}, nil)
	if err != nil {
		return out, err
	}
	if status != 201 && status != 202 {
		return out, fmt.Errorf("accept the %s agreement: status %d, want 201 or 202", program, status)
	}
	if err := r.waitFor(ctx, "enrollment "+program+" active", func() bool {
		var p struct {
			Enrollments []struct{ Program, Status string } `json:"enrollments"`
		}
		if r.call(ctx, "GET", r.cfg.Registration+"/v1/partners/"+reg.PartnerID, up, nil, 200, &p) != nil {
			return false
		}
		for _, e := range p.Enrollments {
			if e.Program == program && e.Status == "active" {
				return true
			}
		}
		return false
	}); err != nil {
		return out, err
	}
	r.say("%s: %s enrollment active", reg.PartnerID, program)
	return out, nil
}

// token mints a 15-minute token for p; people sign in with MFA, as
// partner tenants must (seed 003).
func (r *runner) token(p auth.Principal) string {
	if p.AMR == nil {
		p.AMR = []string{"pwd", auth.AMRMultiFactor}
	}
	t, err := r.signer.Mint(p, auth.DevIssuer, auth.DevAudience, 15*time.Minute)
	if err != nil {
		panic(err) // the key was just loaded
	}
	return t
}

func (r *runner) step(s string) {
	fmt.Fprintf(r.cfg.Out, "\n%6.2fs ▶ %s\n", time.Since(r.start).Seconds(), s)
}

func (r *runner) say(format string, a ...any) {
	fmt.Fprintf(r.cfg.Out, "         %s\n", fmt.Sprintf(format, a...))
}

// tail prints every event published from now on, across all streams, as
// `partnerctl events tail` prints it.
func (r *runner) tail(ctx context.Context) (func(), error) {
	bc := bus.Config{NATSURL: r.cfg.NATSURL, NATSUser: r.cfg.NATSUser, NATSPassword: r.cfg.NATSPassword}
	nc, err := nats.Connect(r.cfg.NATSURL, append(bc.ConnectOptions(), nats.Name("partnerctl-demo"))...)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	stop, _, err := eventfmt.Tail(ctx, js, eventfmt.TailOptions{
		Streams: []string{"REGISTRATION", "EMAIL", "NOTIFIER", "VERIFICATION", "AGREEMENTS", "RELATIONSHIPS", "DEADLETTER"},
		Strict:  true,
	}, func(it eventfmt.Item) {
		r.mu.Lock()
		r.seen = append(r.seen, it.Event)
		r.mu.Unlock()
		fmt.Fprintln(r.cfg.Out, "  "+eventfmt.Line(it))
	}, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return func() {
		stop()
		nc.Close()
	}, nil
}

func (r *runner) waitEvent(ctx context.Context, topic, subject string) error {
	return r.waitFor(ctx, topic+" for "+subject, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, ev := range r.seen {
			if ce.Topic(ev.Type) == topic && ev.Subject == subject {
				return true
			}
		}
		return false
	})
}

func (r *runner) waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(r.cfg.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", r.cfg.Timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

var linkRe = regexp.MustCompile(`https?://\S+/confirm\?token=[A-Za-z0-9_-]+`)

// mailLinks waits for n mails to address in the catcher's directory and
// returns their confirmation links.
func (r *runner) mailLinks(ctx context.Context, address string, n int) ([]string, error) {
	var links []string
	err := r.waitFor(ctx, fmt.Sprintf("%d mails to %s", n, address), func() bool {
		links = nil
		files, _ := filepath.Glob(filepath.Join(r.cfg.MailDir, "*.eml"))
		sort.Strings(files)
		for _, f := range files {
			text, to, err := readMail(f)
			if err != nil || !strings.Contains(to, address) {
				continue
			}
			if l := linkRe.FindString(text); l != "" {
				links = append(links, l)
			}
		}
		return len(links) >= n
	})
	return links, err
}

func readMail(path string) (text, to string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		return "", "", err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return "", "", err
	}
	// Quoted-printable soft breaks and =3D are enough to undo for the link.
	s := strings.ReplaceAll(string(body), "=\r\n", "")
	s = strings.ReplaceAll(s, "=\n", "")
	s = strings.ReplaceAll(s, "=3D", "=")
	dec := new(mime.WordDecoder)
	to, _ = dec.DecodeHeader(m.Header.Get("To"))
	return s, to, nil
}

func (r *runner) call(ctx context.Context, method, url, token string, body any, want int, out any) error {
	return r.callH(ctx, method, url, token, body, want, out)
}

func (r *runner) callH(ctx context.Context, method, url, token string, body any, want int, out any, headers ...string) error {
	status, err := r.do(ctx, method, url, token, body, out, headers...)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, url, status, want)
	}
	return nil
}

func (r *runner) do(ctx context.Context, method, url, token string, body any, out any, headers ...string) (int, error) {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case neturl.Values: // a page's form
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := r.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return res.StatusCode, nil
}
