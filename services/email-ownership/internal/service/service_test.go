package service_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
)

func newPartner() string {
	id, err := ids.New(ids.Partner, rand.Reader)
	if err != nil {
		panic(err)
	}
	return id
}

// TestRegistrationOpensOneChallengePerEnrollment: both enrollments get their
// own sealed, restricted mail request; replays, duplicates and bad events
// open nothing more, and the bad one is dead-lettered with its code.
func TestRegistrationOpensOneChallengePerEnrollment(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := submitted(partner, "taro@yamada.example.co.jp")
	id := publish(t, h.js, registrationv1.TypeApplicationSubmitted, "", partner, p)

	msgs := h.waitEvents(emailv1.TypeVerificationMailRequested, 2, nil)
	seen := map[string]bool{}
	for _, m := range msgs {
		var mr emailv1.VerificationMailRequested
		if err := json.Unmarshal(m.Data, &mr); err != nil {
			t.Fatal(err)
		}
		seen[mr.Program] = true
		if m.Header.Get(ce.HDataClassification) != emailv1.DataClassificationRestricted || m.Header.Get(ce.HSubject) != partner ||
			m.Header.Get(ce.HCausationID) != id {
			t.Errorf("mail request headers: %v", m.Header)
		}
		if mr.Recipient != "taro@yamada.example.co.jp" || mr.Language != "ja" || mr.ContactName != "山田 太郎" || len(mr.SealedSecret) < 64 {
			t.Errorf("mail request %+v", mr)
		}
		if strings.Contains(string(m.Data), `"token"`) || strings.Contains(string(m.Data), `"code"`) {
			t.Errorf("secret in clear: %s", m.Data)
		}
	}
	if !seen[registrationv1.ProgramPartnerNetwork] || !seen[registrationv1.ProgramIndirectReseller] {
		t.Fatalf("programs %v, want one challenge for each enrollment", seen)
	}
	h.waitEvents(emailv1.TypeChallengeOpened, 2, nil)

	// Replay (same ce id), duplicate (new id, same address in another case),
	// then an invalid event and a marker registration behind them.
	publish(t, h.js, registrationv1.TypeApplicationSubmitted, id, partner, p)
	dup := p
	dup.Contact.Email = "TARO@yamada.example.co.jp"
	publish(t, h.js, registrationv1.TypeApplicationSubmitted, "", partner, dup)
	bad := submitted(newPartner(), "not an address")
	publish(t, h.js, registrationv1.TypeApplicationSubmitted, "", bad.PartnerID, bad)
	marker := h.submit(newPartner(), "hanako@example.co.jp")
	h.mailFor(marker.Enrollments[1].EnrollmentID, 1)
	h.waitEvents(emailv1.TypeVerificationMailRequested, 4, nil) // 2 + the marker's 2, nothing from replays
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, m := range streamMsgs(t, h.js, bus.DeadLetterStream, "") {
			if m.Header.Get(bus.DLQCode) == app.CodeInvalidCommand {
				return nil
			}
		}
		return fmt.Errorf("invalid registration not dead-lettered")
	})
}

// TestStreamReaderCannotConfirm reads the mail request off JetStream and
// tries every string in it (headers, JSON values, decoded sealed secret,
// every 6-digit run) as a link token and as a code: nothing confirms. The
// notifier's key (a positive control) does.
func TestStreamReaderCannotConfirm(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net, res := p.Enrollments[0].EnrollmentID, p.Enrollments[1].EnrollmentID
	raw := h.waitEvents(emailv1.TypeVerificationMailRequested, 1, forEnrollment(net))[0]

	var candidates []string
	for _, vs := range raw.Header {
		candidates = append(candidates, vs...)
	}
	var doc any
	_ = json.Unmarshal(raw.Data, &doc)
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				candidates = append(candidates, k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			candidates = append(candidates, v)
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				candidates = append(candidates, base64.RawURLEncoding.EncodeToString(b), string(b))
				for i := 0; i+32 <= len(b); i++ { // every 32-byte window as a token
					candidates = append(candidates, base64.RawURLEncoding.EncodeToString(b[i:i+32]))
				}
			}
		default:
			candidates = append(candidates, fmt.Sprint(v))
		}
	}
	walk(doc)
	codes := map[string]bool{}
	for _, c := range append(candidates, string(raw.Data)) {
		for _, m := range regexp.MustCompile(`\d{6}`).FindAllString(c, -1) {
			codes[m] = true
		}
	}
	bearer := h.token(partnerUser(partner))
	for _, c := range candidates {
		if code, body, _ := h.confirm(c); code == 200 {
			t.Fatalf("stream string %q confirmed by link: %s", c, body)
		}
		for _, enr := range []string{net, res} {
			if code, _, _ := h.do("POST", "/v1/enrollments/"+enr+"/confirm-code", bearer, map[string]string{"code": c}); code == 200 {
				t.Fatalf("stream string %q confirmed by code", c)
			}
		}
	}
	for c := range codes {
		if code, _, _ := h.do("POST", "/v1/enrollments/"+res+"/confirm-code", bearer, map[string]string{"code": c}); code == 200 {
			t.Fatalf("6-digit run %q from the stream confirmed", c)
		}
	}
	t.Logf("tried %d strings and %d digit runs", len(candidates), len(codes))
	if n := len(streamMsgs(t, h.js, "EMAIL", emailv1.TypeOwnershipConfirmed)); n != 0 {
		t.Fatalf("%d confirmations from stream contents", n)
	}
	// Positive control: with the notifier's key the same event confirms.
	var mr emailv1.VerificationMailRequested
	_ = json.Unmarshal(raw.Data, &mr)
	if code, body, _ := h.confirm(h.secret(mr).Token); code != 200 {
		t.Fatalf("notifier's secret did not confirm: %d %s", code, body)
	}
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(net))
}

var pageTitles = map[int]string{200: "確認しました", 404: "無効です", 409: "使用済み", 410: "有効期限"}

// TestConfirmLinkPages covers the link outcomes: confirmed, used, unknown,
// malformed, superseded and expired, each a bilingual page without the address.
func TestConfirmLinkPages(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net, res := p.Enrollments[0].EnrollmentID, p.Enrollments[1].EnrollmentID
	tokNet := h.secret(h.mailFor(net, 1)[0]).Token
	tokRes := h.secret(h.mailFor(res, 1)[0]).Token

	check := func(name, token string, want int) {
		t.Helper()
		// The page of the link (GET) and its button (POST) agree on every
		// outcome but success, where the GET only asks.
		get, getBody, _ := h.do("GET", "/confirm?token="+url.QueryEscape(token), "", nil)
		code, body, hdr := h.confirm(token)
		if code != want || !strings.Contains(body, pageTitles[want]) || !strings.Contains(body, "<section lang=\"en\">") {
			t.Errorf("%s: %d, want %d with %q: %s", name, code, want, pageTitles[want], body)
		}
		if want != 200 && (get != want || !strings.Contains(getBody, pageTitles[want])) {
			t.Errorf("%s: the link's page answered %d, want %d: %s", name, get, want, getBody)
		}
		if strings.Contains(body, "taro@") || strings.Contains(body, "yamada") || (want != 200 && strings.Contains(getBody, "yamada")) {
			t.Errorf("%s: page reveals the address", name)
		}
		if hdr.Get("Referrer-Policy") != "no-referrer" || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", name, hdr)
		}
	}
	// The link's page shows the address it confirms and a button, and
	// confirms nothing.
	code, page, _ := h.do("GET", "/confirm?token="+tokNet, "", nil)
	if code != 200 || !strings.Contains(page, "taro@yamada.example.co.jp") || !strings.Contains(page, `<form method="post" action="confirm">`) ||
		!strings.Contains(page, `value="`+tokNet+`"`) || strings.Contains(page, pageTitles[200]) {
		t.Fatalf("link page: %d %s", code, page)
	}
	if st := h.status(net, partner); st["state"] != "pending" {
		t.Fatalf("opening the link changed the state: %v", st)
	}
	check("confirmed", tokNet, 200)
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(net))
	// Confirmed again (a double click, the form sent again): the same page,
	// and the link's page says it is confirmed instead of asking.
	check("confirmed again", tokNet, 200)
	if code, page, _ := h.do("GET", "/confirm?token="+tokNet, "", nil); code != 200 || !strings.Contains(page, pageTitles[200]) || strings.Contains(page, "<form") {
		t.Fatalf("the confirmed link's page: %d %s", code, page)
	}
	check("unknown", base64.RawURLEncoding.EncodeToString(make([]byte, 32)), 404)
	check("malformed", "abc'<script>", 404)
	check("empty", "", 404)

	// A resend supersedes: the old link answers "used", the new one works later.
	if code, body, _ := h.do("POST", "/v1/resend", h.token(partnerUser(partner)), map[string]string{"enrollment_id": res}); code != 202 {
		t.Fatalf("resend: %d %s", code, body)
	}
	check("superseded", tokRes, 409)
	tokNew := h.secret(h.mailFor(res, 2)[1]).Token
	h.clock.Advance(72*time.Hour + time.Second)
	check("expired", tokNew, 410)
	h.waitEvents(emailv1.TypeChallengeExpired, 1, forEnrollment(res))
	if st := h.status(res, partner); st["state"] != "expired" {
		t.Fatalf("status after expiry: %v", st)
	}
	if n := len(streamMsgs(t, h.js, "EMAIL", emailv1.TypeOwnershipConfirmed)); n != 1 {
		t.Fatalf("%d confirmations, want 1", n)
	}
}

// TestExpiryTimerFires: the durable timer expires a pending challenge without
// anyone touching it, once.
func TestExpiryTimerFires(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	h.mailFor(p.Enrollments[1].EnrollmentID, 1)
	h.clock.Advance(73 * time.Hour)
	h.waitEvents(emailv1.TypeChallengeExpired, 2, nil)
	var deadline *time.Time
	if err := h.svc.Base.Pool.QueryRow(t.Context(), `SELECT max(next_deadline) FROM ownerships`).Scan(&deadline); err != nil || deadline != nil {
		t.Fatalf("deadline left after expiry: %v %v", deadline, err)
	}
}

// TestConfirmByCodeAuthorizationAndLockOut: 401/403/404 per route, wrong
// codes count down to the lock-out, and the right code then no longer works.
func TestConfirmByCodeAuthorizationAndLockOut(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net, res := p.Enrollments[0].EnrollmentID, p.Enrollments[1].EnrollmentID
	codeNet := h.secret(h.mailFor(net, 1)[0]).Code
	codeRes := h.secret(h.mailFor(res, 1)[0]).Code
	wrong := func(c string) string { return fmt.Sprintf("%06d", (atoi(c)+1)%1000000) }

	mine := h.token(partnerUser(partner))
	other := h.token(partnerUser(newPartner()))
	verifier := h.token(auth.Principal{Kind: auth.KindUser, Subject: "v-1", Roles: []auth.Role{auth.RoleVerifier}})
	registrant := h.token(auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	otherUpstream := h.token(auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	for _, tc := range []struct {
		name, method, path, bearer string
		body                       any
		want                       int
	}{
		{"code without token", "POST", "/v1/enrollments/" + net + "/confirm-code", "", map[string]string{"code": codeNet}, 401},
		{"code as verifier", "POST", "/v1/enrollments/" + net + "/confirm-code", verifier, map[string]string{"code": codeNet}, 403},
		{"code of another partner", "POST", "/v1/enrollments/" + net + "/confirm-code", other, map[string]string{"code": codeNet}, 404},
		{"malformed code", "POST", "/v1/enrollments/" + net + "/confirm-code", mine, map[string]string{"code": "12a456"}, 422},
		{"unknown field", "POST", "/v1/enrollments/" + net + "/confirm-code", mine, map[string]string{"kode": codeNet}, 400},
		{"status without token", "GET", "/v1/enrollments/" + net + "/ownership", "", nil, 401},
		{"status of another partner", "GET", "/v1/enrollments/" + net + "/ownership", other, nil, 404},
		{"status as verifier", "GET", "/v1/enrollments/" + net + "/ownership", verifier, nil, 200},
		// An upstream system reads the proofs of the partners it registered
		// only (the registration's submitted_by).
		{"status as the registrant", "GET", "/v1/enrollments/" + net + "/ownership", registrant, nil, 200},
		{"status as another upstream system", "GET", "/v1/enrollments/" + net + "/ownership", otherUpstream, nil, 404},
		{"status of unknown enrollment", "GET", "/v1/enrollments/" + netOf(newPartner()) + "/ownership", mine, nil, 404},
		{"status of no enrollment ID", "GET", "/v1/enrollments/nope/ownership", mine, nil, 422},
		{"code for another kind of ID", "POST", "/v1/enrollments/" + newPartner() + "/confirm-code", mine, map[string]string{"code": "123456"}, 422},
		{"resend by enrollment without token", "POST", "/v1/resend", "", map[string]string{"enrollment_id": net}, 401},
		{"resend by enrollment as verifier", "POST", "/v1/resend", verifier, map[string]string{"enrollment_id": net}, 403},
		{"resend for no enrollment ID", "POST", "/v1/resend", mine, map[string]string{"enrollment_id": "nope"}, 422},
		{"status by the ID in lower case", "GET", "/v1/enrollments/" + strings.ToLower(net) + "/ownership", mine, nil, 200},
		// As a Japanese input method types it, in two groups.
		{"code as owner, full-width", "POST", "/v1/enrollments/" + net + "/confirm-code", mine, map[string]string{"code": fullWidth(codeNet[:3]) + "　" + fullWidth(codeNet[3:])}, 200},
	} {
		if code, body, _ := h.do(tc.method, tc.path, tc.bearer, tc.body); code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, code, tc.want, body)
		}
	}
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(net))

	for i := 1; i <= 5; i++ {
		code, body, _ := h.do("POST", "/v1/enrollments/"+res+"/confirm-code", mine, map[string]string{"code": wrong(codeRes)})
		switch {
		case i < 5 && (code != 422 || !strings.Contains(body, app.CodeCodeWrong) || !strings.Contains(body, fmt.Sprintf(`"attempts_left":%d`, 5-i))):
			t.Fatalf("wrong code %d: %d %s", i, code, body)
		case i == 5 && (code != 409 || !strings.Contains(body, app.CodeChallengeLocked)):
			t.Fatalf("fifth wrong code: %d %s", code, body)
		}
	}
	if code, body, _ := h.do("POST", "/v1/enrollments/"+res+"/confirm-code", mine, map[string]string{"code": codeRes}); code != 409 {
		t.Fatalf("right code after lock-out: %d %s", code, body)
	}
	h.waitEvents(emailv1.TypeChallengeLocked, 1, forEnrollment(res))
	if st := h.status(res, partner); st["state"] != "locked" || st["wrong_codes_left"].(float64) != 0 {
		t.Fatalf("status %v", st)
	}
}

// TestConcurrentConfirmationsConfirmOnce: link and code at once, many
// times (double clicks, clients retrying lost answers): every one answers
// the confirmation, which is recorded once.
func TestConcurrentConfirmationsConfirmOnce(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	res := p.Enrollments[1].EnrollmentID
	sec := h.secret(h.mailFor(res, 1)[0])
	bearer := h.token(partnerUser(partner))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var code int
			if i%2 == 0 {
				code, _, _ = h.confirm(sec.Token)
			} else {
				code, _, _ = h.do("POST", "/v1/enrollments/"+res+"/confirm-code", bearer, map[string]string{"code": sec.Code})
			}
			if code == 200 {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 20 {
		t.Fatalf("%d of 20 confirmations answered 200", wins)
	}
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(res))
	time.Sleep(200 * time.Millisecond) // a second event would be relayed by now
	if n := len(streamMsgs(t, h.js, "EMAIL", emailv1.TypeOwnershipConfirmed)); n != 1 {
		t.Fatalf("%d confirmations recorded, want 1", n)
	}
}

// TestResendStorm: 50 concurrent resends by address (known and unknown) and
// by enrollment: the cooldown lets exactly one through per key, the answers
// for known and unknown addresses are the same, and the daily quota holds.
func TestResendStorm(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	res := p.Enrollments[1].EnrollmentID
	h.mailFor(res, 1)
	bearer := h.token(partnerUser(partner))

	storm := func(bearer string, body map[string]string) (accepted, throttled int, retry []string) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, b, hdr := h.do("POST", "/v1/resend", bearer, body)
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case 202:
					accepted++
				case 429:
					throttled++
					if !strings.Contains(b, app.CodeResendThrottled) || !strings.Contains(b, `"retry_after"`) || hdr.Get("Retry-After") == "" {
						t.Errorf("throttled answer lacks retry_after: %s %v", b, hdr)
					}
					retry = append(retry, hdr.Get("Retry-After"))
				default:
					t.Errorf("resend: %d %s", code, b)
				}
			}()
		}
		wg.Wait()
		return accepted, throttled, retry
	}
	for _, tc := range []struct {
		name   string
		bearer string
		body   map[string]string
	}{
		{"known address", "", map[string]string{"email": "TARO@yamada.example.co.jp"}},
		{"unknown address", "", map[string]string{"email": "nobody@unknown.example.com"}},
		{"enrollment", bearer, map[string]string{"enrollment_id": res}},
	} {
		a, th, _ := storm(tc.bearer, tc.body)
		if a != 1 || th != 49 {
			t.Errorf("%s: %d accepted, %d throttled; want 1 and 49", tc.name, a, th)
		}
	}
	// Known by address: 2 enrollments re-mailed; by enrollment: one more.
	h.mailFor(res, 3)
	h.mailFor(p.Enrollments[0].EnrollmentID, 2)

	// Quota: after each cooldown one more resend, until 5 in 24h.
	body := map[string]string{"email": "nobody@unknown.example.com"}
	for i := 2; i <= 5; i++ {
		h.clock.Advance(61 * time.Second)
		if code, b, _ := h.do("POST", "/v1/resend", "", body); code != 202 {
			t.Fatalf("resend %d after cooldown: %d %s", i, code, b)
		}
	}
	h.clock.Advance(61 * time.Second)
	code, b, hdr := h.do("POST", "/v1/resend", "", body)
	if code != 429 || atoi(hdr.Get("Retry-After")) < 23*3600 {
		t.Fatalf("sixth resend in a day: %d %s Retry-After %s", code, b, hdr.Get("Retry-After"))
	}
}

// TestDisputeAndWithdrawal: the GET page changes nothing, the POST records a
// dispute for review, and a later confirmation withdraws it.
func TestDisputeAndWithdrawal(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net := p.Enrollments[0].EnrollmentID
	tok := h.secret(h.mailFor(net, 1)[0]).Token

	code, body, _ := h.do("GET", "/dispute?token="+tok, "", nil)
	if code != 200 || !strings.Contains(body, `method="post"`) || !strings.Contains(body, tok) {
		t.Fatalf("dispute page: %d %s", code, body)
	}
	if st := h.status(net, partner); st["state"] != "pending" {
		t.Fatalf("GET changed state: %v", st)
	}
	if code, body, _ := h.do("POST", "/dispute", "", "token="+tok); code != 200 || !strings.Contains(body, "ありがとうございます") {
		t.Fatalf("dispute: %d %s", code, body)
	}
	h.waitEvents(emailv1.TypeChallengeDisputed, 1, forEnrollment(net))
	if st := h.status(net, partner); st["state"] != "disputed" || st["dispute_open"] != true {
		t.Fatalf("status after dispute: %v", st)
	}
	if code, _, _ := h.do("POST", "/dispute", "", "token=garbage"); code != 404 {
		t.Fatalf("dispute with a bad token: %d", code)
	}
	if code, _, _ := h.confirm(tok); code != 200 {
		t.Fatal("confirming after a dispute failed")
	}
	h.waitEvents(emailv1.TypeDisputeWithdrawn, 1, forEnrollment(net))
	if st := h.status(net, partner); st["state"] != "confirmed" || st["dispute_open"] != false {
		t.Fatalf("status after withdrawal: %v", st)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestLinkScannersConfirmNothing: a mail-security scanner, a link preview
// or a browser's prefetcher opens the links of the mail — GET and HEAD, with
// and without prefetch hints — and every link on the pages they lead to,
// but never presses a button: the address stays unconfirmed. The person's
// press (the form's POST) then confirms.
func TestLinkScannersConfirmNothing(t *testing.T) {
	h := start(t)
	partner := newPartner()
	p := h.submit(partner, "taro@yamada.example.co.jp")
	net := p.Enrollments[0].EnrollmentID
	tok := h.secret(h.mailFor(net, 1)[0]).Token
	links := []string{"/confirm?token=" + tok, "/dispute?token=" + tok}
	hints := []map[string]string{{}, {"Purpose": "prefetch"}, {"Sec-Purpose": "prefetch;prerender"}, {"X-Moz": "prefetch"},
		{"User-Agent": "Mozilla/5.0 (compatible; SafeLinks scanner)"}}
	href := regexp.MustCompile(`(?:href|src|action)="([^"]+)"`)
	seen := map[string]bool{}
	for len(links) > 0 {
		link := links[0]
		links = links[1:]
		if seen[link] {
			continue
		}
		seen[link] = true
		for _, method := range []string{"GET", "HEAD"} {
			for _, hint := range hints {
				req, _ := http.NewRequest(method, h.url+link, nil)
				for k, v := range hint {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				// A scanner follows what the page links to, as a GET.
				for _, m := range href.FindAllStringSubmatch(string(body), -1) {
					if u, err := url.Parse(m[1]); err == nil && (u.Host == "" || h.url == u.Scheme+"://"+u.Host) {
						links = append(links, "/"+strings.TrimPrefix(u.RequestURI(), "/"))
					}
				}
			}
		}
	}
	if len(seen) < 3 { // the two mail links and the forms' targets
		t.Fatalf("the scanner opened only %v", seen)
	}
	if st := h.status(net, partner); st["state"] != "pending" || st["dispute_open"] != false {
		t.Fatalf("after the scanner: %v", st)
	}
	if n := len(streamMsgs(t, h.js, "EMAIL", emailv1.TypeOwnershipConfirmed)) + len(streamMsgs(t, h.js, "EMAIL", emailv1.TypeChallengeDisputed)); n != 0 {
		t.Fatalf("%d confirmations or disputes from following links", n)
	}
	if code, body, _ := h.confirm(tok); code != 200 || !strings.Contains(body, pageTitles[200]) {
		t.Fatalf("pressing the button: %d %s", code, body)
	}
	h.waitEvents(emailv1.TypeOwnershipConfirmed, 1, forEnrollment(net))
}

// fullWidth writes ASCII digits as full-width ones ("123" → "１２３").
func fullWidth(digits string) string {
	return strings.Map(func(r rune) rune { return r - '0' + '０' }, digits)
}
