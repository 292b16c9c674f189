package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Driver runs whole onboardings against a stack through its public surface
// only: HTTP APIs, the mails the notifier sends, events seen on the bus.
type Driver struct {
	URLs   map[string]string // service → base URL
	Tokens *Tokens
	Board  *Board
	HTTP   *http.Client
	// RunID makes this run's companies unique (legal names, domains,
	// corporate numbers) in a database that may already hold others.
	RunID string
	// Timeout bounds one onboarding from submit to active; beyond it the
	// run fails naming the stage and the partner.
	Timeout time.Duration

	seq       atomic.Int64
	versionMu sync.Mutex
	versionID string
	// Counters over the driver's life.
	Refusals409 atomic.Int64 // acceptances refused: agreements had not yet learnt of the approval
	Pending202  atomic.Int64 // acceptances kept pending (202): recorded when agreements learns of the approval
	Answers429  atomic.Int64 // rate-limited calls (retried after Retry-After)
	Reconnects  atomic.Int64 // calls sent again after the connection failed (a service restarting)
	Unavailable atomic.Int64 // 503 answers with Retry-After (its database away), sent again after it
}

// Onboarding is the record of one company's way from submit to active.
// Stage times are stamped where the outside world sees them: events when
// they arrive on the bus, mails when the SMTP sink accepts them.
type Onboarding struct {
	Index       int
	Worker      int
	Domain      string
	PartnerID   string
	Enrollments []string

	Submit     time.Time // POST /v1/registrations sent
	Registered time.Time // its 201 received
	TaskAt     time.Time // verification.task.created.v1 (company review) arrived
	Mail1At    time.Time // first confirmation mail accepted by the sink
	Mail2At    time.Time // the last one (one per enrollment)
	Clicked    time.Time // every confirmation link followed (the contact's part done)
	Confirmed  time.Time // the last email.ownership.confirmed.v1 arrived
	Decided    time.Time // the verifier's decision answered 201
	ApprovedAt time.Time // verification.case.approved.v1 arrived
	Accepted   time.Time // the acceptance answered 201
	ActiveAt   time.Time // registration.enrollment.status_changed.v1 → indirect_reseller active arrived

	Refusals409 int  // acceptance attempts answered 409 not-yet-approved
	Pending202  bool // the acceptance answered 202: kept until agreements learnt of the approval
	Answers429  int
}

// StallError is an onboarding that did not finish in time.
type StallError struct {
	Onboarding Onboarding
	Stage      string
	Detail     string
	Err        error
}

func (e *StallError) Error() string {
	o := e.Onboarding
	id := o.PartnerID
	if id == "" {
		id = "(no partner id yet)"
	}
	return fmt.Sprintf("onboarding #%d (partner %s, %s) stalled at stage %q after %s: %s: %v",
		o.Index, id, o.Domain, e.Stage, time.Since(o.Submit).Round(time.Millisecond), e.Detail, e.Err)
}

func (e *StallError) Unwrap() error { return e.Err }

// Load runs n onboardings with c workers, each starting the next as soon as
// its previous one is active (closed loop). The first failure cancels the rest.
func (d *Driver) Load(ctx context.Context, n, c int) ([]Onboarding, error) {
	return d.load(ctx, n, c, false)
}

// LoadEmailPart is Load up to the e-mail part of each onboarding, the work
// a peer such as Ory Kratos does: register, the confirmation mails, every
// link followed, every email.ownership.confirmed.v1 seen. Each partner is
// left pending review, and the next begins.
func (d *Driver) LoadEmailPart(ctx context.Context, n, c int) ([]Onboarding, error) {
	return d.load(ctx, n, c, true)
}

func (d *Driver) load(ctx context.Context, n, c int, emailPart bool) ([]Onboarding, error) {
	if n < 1 || c < 1 {
		return nil, fmt.Errorf("load of %d onboardings by %d workers: want at least one of each", n, c)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if _, err := d.agreementVersion(ctx); err != nil {
		return nil, err
	}
	jobs := make(chan int, n)
	for i := range n {
		jobs <- i
	}
	close(jobs)
	out := make([]Onboarding, n)
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if ctx.Err() != nil {
					return
				}
				o, err := d.onboard(ctx, w, emailPart)
				if err != nil {
					cancel(err)
					return
				}
				out[i] = o
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// company is what the driver registers: unique name, domain and corporate
// number; the contact's address is on the website's domain, and the
// company register verification is given (RegisterRecords) lists that
// website, so employment passes on the register's evidence and the company
// review is the one task for a verifier.
type company struct {
	name, domain, number, line1 string
}

func (d *Driver) nextCompany() (int, company) {
	n := int(d.seq.Add(1))
	return n, benchCompany(d.RunID, n)
}

func benchCompany(runID string, n int) company {
	base := fmt.Sprintf("%06d%06d", runNumber(runID), n)
	digit, _ := corporateCheckDigit(base)
	return company{
		name:   fmt.Sprintf("株式会社ベンチ%s%05d", strings.ToUpper(runID), n),
		domain: fmt.Sprintf("bench-%s-%05d.co.jp", runID, n),
		number: strconv.Itoa(digit) + base,
		line1:  fmt.Sprintf("丸の内%d-%d-%d", 1+n%9, 1+n/9%99, 1+n/891),
	}
}

// RegisterRecords is the company register (verification's REGISTRY_FILE,
// a JSON array) of the first count companies of run runID: each with the
// facts it registers and its website. Employment passes on evidence only —
// the register's website for the company, a domain proof or documents —
// never on the website an applicant types; the benchmark's companies take
// the first way, one event fewer than a proof and no applicant step.
func RegisterRecords(runID string, count int) ([]byte, error) {
	recs := make([]map[string]string, 0, count)
	for n := 1; n <= count; n++ {
		c := benchCompany(runID, n)
		recs = append(recs, map[string]string{"market": "JP", "registration_number": c.number, "name": c.name,
			"prefecture": "東京都", "city": "千代田区", "street": c.line1, "postal_code": "100-0005", "status": "active",
			"website": "https://www." + c.domain})
	}
	return json.Marshal(recs)
}

// corporateCheckDigit is the check digit of a Japanese corporate number's
// 12-digit base: 9 − (Σ P_n·Q_n mod 9), P_n the n-th digit from the right,
// Q_n 1 for odd n and 2 for even n.
func corporateCheckDigit(base string) (int, bool) {
	if len(base) != 12 {
		return 0, false
	}
	sum := 0
	for n := 1; n <= 12; n++ {
		c := base[12-n]
		if c < '0' || c > '9' {
			return 0, false
		}
		q := 1
		if n%2 == 0 {
			q = 2
		}
		sum += int(c-'0') * q
	}
	return 9 - sum%9, true
}

// runNumber maps a run id to six digits for the corporate numbers.
func runNumber(id string) int {
	h := 0
	for _, c := range id {
		h = (h*31 + int(c)) % 1_000_000
	}
	return h
}

func (c company) registration() map[string]any {
	return map[string]any{"market": "JP", "language": "ja",
		"company": map[string]any{"legal_name": c.name, "phone": "03-1234-5678", "website": "https://www." + c.domain,
			"address":             map[string]any{"line1": c.line1, "city": "千代田区", "region": "東京都", "postal_code": "100-0005"},
			"registration_number": map[string]any{"scheme": "jp_corporate_number", "value": c.number}},
		"contact": map[string]any{"first_name": "太郎", "last_name": "山田", "email": c.email(), "phone": "090-2222-3333"},
		"programs": []map[string]any{{"program": "partner_network"}, {"program": "indirect_reseller",
			"support": map[string]any{"website": "https://www." + c.domain + "/support", "email": "support@" + c.domain}}},
		"affirmations": map[string]any{"authority_to_represent": true, "consent_to_verification": true,
			"accept_network_terms": true, "can_provide_support": true}}
}

func (c company) email() string { return "taro.yamada@" + c.domain }

// onboard takes one new company from submit to an active reseller
// enrollment, as worker w (whose upstream system and verifier it acts as);
// with emailPart it stops once every address of the company is confirmed
// (LoadEmailPart).
func (d *Driver) onboard(ctx context.Context, w int, emailPart bool) (Onboarding, error) {
	n, co := d.nextCompany()
	o := Onboarding{Index: n, Worker: w, Domain: co.domain}
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	stall := func(stage, detail string, err error) error {
		return &StallError{Onboarding: o, Stage: stage, Detail: detail, Err: err}
	}
	upstream, err := d.Tokens.Mint(Principal{Subject: fmt.Sprintf("bench-upstream-%d", w), Roles: []string{"upstream_system"}, Service: true}, time.Hour)
	if err != nil {
		return o, err
	}

	// 1. The upstream system registers the company.
	o.Submit = time.Now()
	var reg struct {
		PartnerID   string `json:"partner_id"`
		Enrollments []struct {
			ID      string `json:"id"`
			Program string `json:"program"`
		} `json:"enrollments"`
	}
	if err := d.call(ctx, &o, "POST", d.URLs["registration"]+"/v1/registrations", upstream, co.registration(), http.StatusCreated, &reg,
		"Idempotency-Key", "bench-"+d.RunID+"-"+strconv.Itoa(n)); err != nil {
		return o, stall("submit", "POST /v1/registrations", err)
	}
	o.Registered = time.Now()
	o.PartnerID = reg.PartnerID
	for _, e := range reg.Enrollments {
		o.Enrollments = append(o.Enrollments, e.ID)
	}
	if o.PartnerID == "" || len(o.Enrollments) == 0 {
		return o, stall("submit", "201 without partner id or enrollments", errors.New("unexpected answer"))
	}

	// 2. One confirmation mail per enrollment; the contact follows each link.
	mails, err := d.Board.WaitMails(ctx, co.email(), len(o.Enrollments))
	if err != nil {
		return o, stall("mails", fmt.Sprintf("%d of %d confirmation mails to %s arrived", len(d.Board.Mails(co.email())), len(o.Enrollments), co.email()), err)
	}
	o.Mail1At, o.Mail2At = mails[0].At, mails[len(o.Enrollments)-1].At
	for _, m := range mails[:len(o.Enrollments)] {
		if m.Link == "" {
			return o, stall("confirm", "no confirmation link in mail "+strconv.Quote(m.Subject), errors.New(truncate(m.Text, 400)))
		}
		if err := d.confirmLink(ctx, &o, m.Link); err != nil {
			return o, stall("confirm", "following the confirmation link", err)
		}
	}
	o.Clicked = time.Now()
	if emailPart {
		if err := d.Board.WaitPartner(ctx, o.PartnerID, func(s *Seen) bool { return len(s.Confirmed) >= len(o.Enrollments) }); err != nil {
			seen := d.Board.Partner(o.PartnerID)
			return o, stall("confirmed", fmt.Sprintf("%d of %d email.ownership.confirmed.v1 seen", len(seen.Confirmed), len(o.Enrollments)), err)
		}
		if ts := sortedTimes(d.Board.Partner(o.PartnerID).Confirmed); len(ts) > 0 {
			o.Confirmed = ts[len(ts)-1]
		}
		return o, nil
	}

	// 3. The company review task appears; a verifier claims and approves it.
	var taskID string
	if err := d.Board.WaitPartner(ctx, o.PartnerID, func(s *Seen) bool { taskID = s.TaskID; return taskID != "" }); err != nil {
		return o, stall("review task", "no verification.task.created.v1 (company) for the partner", err)
	}
	verifier, err := d.Tokens.Mint(Principal{Subject: fmt.Sprintf("bench-verifier-%d", w), Roles: []string{"verifier"}, Service: true}, time.Hour)
	if err != nil {
		return o, err
	}
	vurl := d.URLs["verification"] + "/v1/verification/tasks/" + url.PathEscape(taskID)
	if err := d.call(ctx, &o, "POST", vurl+"/claim", verifier, nil, http.StatusOK, nil); err != nil {
		return o, stall("review", "claim task "+taskID, err)
	}
	// 201, or 200 (replayed) when the decision went through but its answer
	// did not: a database that stopped as the decision committed answers
	// 503, and the decision sent again is answered as the one made.
	status, p, err := d.do(ctx, &o, "POST", vurl+"/decisions", verifier, map[string]any{"decision_id": "bench-" + taskID, "outcome": "approve"}, nil)
	if err == nil && status != http.StatusCreated && status != http.StatusOK {
		err = fmt.Errorf("POST %s/decisions: status %d, want 201 or 200: %s %s", vurl, status, p.Code, p.Detail)
	}
	if err != nil {
		return o, stall("review", "decide task "+taskID, err)
	}
	o.Decided = time.Now()

	// 4. Approved (after both e-mail confirmations and the decision).
	if err := d.Board.WaitPartner(ctx, o.PartnerID, func(s *Seen) bool { return !s.ApprovedAt.IsZero() }); err != nil {
		seen := d.Board.Partner(o.PartnerID)
		return o, stall("approved", fmt.Sprintf("no verification.case.approved.v1; %d of %d ownership confirmations seen",
			len(seen.Confirmed), len(o.Enrollments)), err)
	}

	// 5. The partner's administrator accepts the reseller agreement: 201,
	// or 202 while agreements has not yet consumed the approval (it records
	// the acceptance then).
	version, err := d.agreementVersion(ctx)
	if err != nil {
		return o, err
	}
	admin, err := d.Tokens.Mint(Principal{Subject: "bench-admin-" + o.PartnerID, Name: "山田 太郎", PartnerID: o.PartnerID, Roles: []string{"partner_admin"}}, time.Hour)
	if err != nil {
		return o, err
	}
	body := map[string]any{"version_id": version, "market": "JP"}
	backoff := 10 * time.Millisecond
	for {
		status, problem, err := d.do(ctx, &o, "POST", d.URLs["agreements"]+"/v1/partners/"+url.PathEscape(o.PartnerID)+"/agreements/acceptances", admin, body, nil)
		if err != nil {
			return o, stall("accept", "POST acceptances", err)
		}
		// 201, or 200 (existing) when the acceptance went through but its
		// answer did not (a database stop as it committed: 503, sent again).
		if status == http.StatusCreated || status == http.StatusOK {
			break
		}
		// Agreements keeps an acceptance made before it learnt of the
		// approval and records it when the approval arrives (202).
		if status == http.StatusAccepted {
			o.Pending202 = true
			d.Pending202.Add(1)
			break
		}
		// Older builds refused while agreements had not seen the approval
		// (409) or the registration itself (404) yet: event lag, retried and
		// counted.
		lag := (status == http.StatusConflict && problem.Code == "agreements.verification_not_approved") ||
			(status == http.StatusNotFound && problem.Code == "agreements.unknown_partner")
		if !lag {
			return o, stall("accept", "POST acceptances", fmt.Errorf("status %d %s: %s", status, problem.Code, problem.Detail))
		}
		o.Refusals409++
		d.Refusals409.Add(1)
		select {
		case <-ctx.Done():
			return o, stall("accept", fmt.Sprintf("agreements still refuses (409 verification_not_approved) after %d attempts", o.Refusals409), ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
	o.Accepted = time.Now()

	// 6. Registration makes the reseller enrollment active.
	if err := d.Board.WaitPartner(ctx, o.PartnerID, func(s *Seen) bool { return !s.Status["indirect_reseller:active"].IsZero() }); err != nil {
		return o, stall("active", "no registration.enrollment.status_changed.v1 indirect_reseller → active", err)
	}
	seen := d.Board.Partner(o.PartnerID)
	o.TaskAt, o.ApprovedAt, o.ActiveAt = seen.TaskAt, seen.ApprovedAt, seen.Status["indirect_reseller:active"]
	if ts := sortedTimes(seen.Confirmed); len(ts) >= len(o.Enrollments) {
		o.Confirmed = ts[len(ts)-1]
	}
	return o, nil
}

// FillLate completes stage times of events that arrived after the worker
// moved on (an ownership confirmation is not waited for: approval implies it).
func (d *Driver) FillLate(os []Onboarding) (missing int) {
	for i := range os {
		o := &os[i]
		if !o.Confirmed.IsZero() {
			continue
		}
		seen := d.Board.Partner(o.PartnerID)
		if ts := sortedTimes(seen.Confirmed); len(ts) >= len(o.Enrollments) {
			o.Confirmed = ts[len(ts)-1]
		} else {
			missing++
		}
	}
	return missing
}

// agreementVersion is the newest JP indirect_reseller agreement version
// (looked up once, as a portal would cache its catalogue).
func (d *Driver) agreementVersion(ctx context.Context) (string, error) {
	d.versionMu.Lock()
	defer d.versionMu.Unlock()
	if d.versionID != "" {
		return d.versionID, nil
	}
	tok, err := d.Tokens.Mint(Principal{Subject: "bench-catalogue", Roles: []string{"operator"}, Service: true}, time.Hour)
	if err != nil {
		return "", err
	}
	var versions struct {
		Versions []struct {
			ID string `json:"id"`
		} `json:"versions"`
	}
	var o Onboarding
	if err := d.call(ctx, &o, "GET", d.URLs["agreements"]+"/v1/agreements/versions?program=indirect_reseller&market=JP", tok, nil, http.StatusOK, &versions); err != nil {
		return "", fmt.Errorf("agreement versions: %w", err)
	}
	if len(versions.Versions) == 0 {
		return "", errors.New("no indirect_reseller agreement version for JP (AGREEMENTS_SEED_VERSIONS?)")
	}
	d.versionID = versions.Versions[0].ID
	return d.versionID, nil
}

// problem is an RFC 9457 answer's code and detail.
type problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// call is do that wants status want and decodes the body into out.
func (d *Driver) call(ctx context.Context, o *Onboarding, method, u, token string, body any, want int, out any, headers ...string) error {
	status, p, err := d.do(ctx, o, method, u, token, body, out, headers...)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s %s", method, u, status, want, p.Code, p.Detail)
	}
	return nil
}

// do sends a JSON request; 429 answers are waited out (Retry-After) and
// counted. out is decoded from a 2xx JSON body.
func (d *Driver) do(ctx context.Context, o *Onboarding, method, u, token string, body any, out any, headers ...string) (int, problem, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return 0, problem{}, err
		}
	}
	for {
		res, err := d.send(ctx, func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(data))
			if err != nil {
				return nil, err
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			return req, nil
		})
		if err != nil {
			return 0, problem{}, err
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return res.StatusCode, problem{}, err
		}
		if res.StatusCode == http.StatusTooManyRequests {
			o.Answers429++
			d.Answers429.Add(1)
			wait := time.Second
			if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			select {
			case <-ctx.Done():
				return res.StatusCode, problem{}, ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		var p problem
		if res.StatusCode >= 300 {
			_ = json.Unmarshal(raw, &p)
			if p.Code == "" {
				p.Detail = truncate(string(raw), 300)
			}
			return res.StatusCode, p, nil
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return res.StatusCode, p, fmt.Errorf("%s %s: decode: %w", method, u, err)
			}
		}
		return res.StatusCode, p, nil
	}
}

// send sends the request newReq builds. A connection that failed before
// an answer — refused while the service is away, or a kept-alive connection
// it closed as it stopped (BENCH_RESTART) — is tried again with a new
// request, as a client under a rolling deploy does; each such call is
// counted in Reconnects. A 503 with Retry-After (the service's database
// away: BENCH_RESTART=postgres) is sent again after it, as its problem
// document asks, and counted in Unavailable.
func (d *Driver) send(ctx context.Context, newReq func() (*http.Request, error)) (*http.Response, error) {
	for retries := 0; ; retries++ {
		req, err := newReq()
		if err != nil {
			return nil, err
		}
		res, err := d.HTTP.Do(req)
		wait := 100 * time.Millisecond
		switch {
		case retries >= 100:
			return res, err
		case err != nil && reconnect(err):
			d.Reconnects.Add(1)
		case err == nil && res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "":
			if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			d.Unavailable.Add(1)
		default:
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// reconnect reports whether err is a connection that failed rather than
// an answer: refused (nothing listens), or closed or reset under the
// request (the server stopping).
func reconnect(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
