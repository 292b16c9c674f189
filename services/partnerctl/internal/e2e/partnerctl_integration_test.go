package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/partnerhub/onboarding/pkg/auth"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/cli"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// toyama is in no register and no other path's: the registration is only
// the source of events here (it is not onboarded further).
var toyama = company{"株式会社とやまクラウドサービス", "", "富山県", "富山市", "新桜町7-38", "930-0005", "toyama-cloud.co.jp"}

// crmCtl is the upstream system the partnerctl path acts as: its own, so
// that its feed and endpoint hold exactly its partner's events.
var crmCtl = auth.Principal{Kind: auth.KindService, Subject: "crm-partnerctl", Roles: []auth.Role{auth.RoleUpstreamSystem}}

// partnerctl runs the command line against the stack (as the upstream
// system crm-partnerctl unless asOperator) and returns its exit code and output.
func partnerctl(ctx context.Context, s *e2e.Stack, asOperator bool, args ...string) (code int, stdout, stderr string) {
	base := []string{"--keys", s.KeysDir, "--timeline-url", s.URL("timeline"), "--registration-url", s.URL("registration")}
	if s.Has("notifier") {
		base = append(base, "--notifier-url", s.URL("notifier"))
	}
	var who []string
	if !asOperator {
		who = []string{"--as-upstream", "--as-sub", crmCtl.Subject}
	}
	// The group's persistent --as-upstream goes after the subcommand.
	full := append(append(base, args...), who...)
	var out, errOut bytes.Buffer
	code = cli.Run(ctx, full, &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

func mustCtl(t *testing.T, s *e2e.Stack, args ...string) string {
	t.Helper()
	code, out, errOut := partnerctl(context.Background(), s, false, args...)
	if code != cli.ExitOK {
		t.Fatalf("partnerctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// deliveryLog is `partnerctl webhooks deliveries -o json`.
type deliveryLog struct {
	Deliveries []struct {
		ID         string `json:"id"`
		EventID    string `json:"event_id"`
		EventType  string `json:"event_type"`
		State      string `json:"state"`
		LastStatus int    `json:"last_status"`
		AttemptLog []struct {
			Status int  `json:"status"`
			Manual bool `json:"manual"`
		} `json:"attempt_log"`
	} `json:"deliveries"`
}

// testPartnerctlFeedAndWebhooks: an integrator drives the timeline's
// integration surface with partnerctl only: follows the feed while its
// partner registers, registers an endpoint (its secret printed once) whose
// receiver verifies every delivery's signature, reads the delivery log,
// redelivers, rotates the secret (the receiver switching to the new one),
// disables, enables and deletes the endpoint — and another system cannot
// see it.
func testPartnerctlFeedAndWebhooks(t *testing.T, s *e2e.Stack) {
	if !s.Has("timeline") {
		t.Skip("no timeline service")
	}
	recv := newHookReceiver(t, 0)
	code, out, errOut := partnerctl(context.Background(), s, false, "webhooks", "create", "--url", recv.srv.URL+"/partnerhub",
		"--type", "registration.application.", "--description", "CRM via partnerctl")
	if code != cli.ExitOK || !strings.Contains(errOut, "shown only this once") {
		t.Fatalf("webhooks create: exit %d\n%s%s", code, out, errOut)
	}
	id := regexp.MustCompile(`(?m)^endpoint: +(we_\S+)$`).FindStringSubmatch(out)
	sec := regexp.MustCompile(`(?m)^secret: +(whsec_\S+)$`).FindStringSubmatch(out)
	if id == nil || sec == nil || !strings.Contains(out, "consumer:     crm-partnerctl (scope registered)") ||
		!strings.Contains(out, "types:        registration.application.") {
		t.Fatalf("webhooks create printed:\n%s", out)
	}
	endpoint := id[1]
	// The same command again (a retry after a lost answer): the endpoint
	// it created and its secret, not a second endpoint.
	code, again, errOut := partnerctl(context.Background(), s, false, "webhooks", "create", "--url", recv.srv.URL+"/partnerhub",
		"--type", "registration.application.", "--description", "CRM via partnerctl")
	if code != cli.ExitOK || !strings.Contains(errOut, "replayed: this endpoint was created before") ||
		!regexp.MustCompile(`(?m)^endpoint: +`+endpoint+`$`).MatchString(again) || !regexp.MustCompile(`(?m)^secret: +`+regexp.QuoteMeta(sec[1])+`$`).MatchString(again) {
		t.Fatalf("webhooks create again: exit %d\n%s%s", code, again, errOut)
	}
	useSecret := func(secret string) {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatalf("not a Standard Webhooks secret: %v", err)
		}
		recv.mu.Lock()
		recv.wh = wh
		recv.mu.Unlock()
	}
	useSecret(sec[1])

	// The feed, followed from the start (the system has no event yet)
	// until its partner's submission arrives.
	followed := make(chan [3]string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		code, out, errOut := partnerctl(ctx, s, false, "feed", "list", "--follow", "--interval", "200ms", "--limit", "1", "--timeout", "40s",
			"--type", "registration.application.")
		followed <- [3]string{fmt.Sprint(code), out, errOut}
	}()

	var reg registered
	body := toyama.Registration("indirect_reseller")
	delete(body["company"].(map[string]any), "registration_number")
	s.Call(t, "POST", s.URL("registration")+"/v1/registrations", s.Token(crmCtl), body, http.StatusCreated, &reg,
		"Idempotency-Key", "partnerctl-toyama")
	partner := reg.PartnerID
	logOnFailure(t, s, partner)
	submitted := s.Events.WaitFor(t, regv1.TypeApplicationSubmitted, partner)

	// Did the partner get its mails? An operator asks the notifier.
	if s.Has("notifier") {
		e2e.Eventually(t, 20*time.Second, "both confirmation mails listed as delivered", func() error {
			code, out, errOut := partnerctl(context.Background(), s, true, "mail", "list", partner)
			if code != cli.ExitOK {
				return fmt.Errorf("exit %d: %s%s", code, out, errOut)
			}
			if n := len(regexp.MustCompile(`(?m)^\S+\s+email_ownership\.verify\.v1\s+\w\*\*\*@toyama-cloud\.co\.jp\s+delivered\s+1\s`).FindAllString(out, -1)); n != 2 {
				return fmt.Errorf("%d delivered confirmation mails in:\n%s", n, out)
			}
			return nil
		})
		// The notifier's list a page at a time: one mail and a note that
		// more follow; --limit 0 follows next to the end.
		_, out, _ := partnerctl(context.Background(), s, true, "mail", "list", partner, "--limit", "1")
		// (the newest may be the documents request: any one mail's row)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") ||
			!strings.Contains(lines[1], "@toyama-cloud.co.jp") || !strings.HasPrefix(lines[2], "(first 1 mails; more with a higher --limit") {
			t.Errorf("mail list --limit 1:\n%s", out)
		}
		var mails struct {
			Mails []struct{ ID string } `json:"mails"`
			Next  *string               `json:"next"`
		}
		code, out, errOut := partnerctl(context.Background(), s, true, "mail", "list", partner, "--limit", "0", "-o", "json")
		if json.Unmarshal([]byte(out), &mails) != nil || len(mails.Mails) < 2 || mails.Next == nil || *mails.Next != "" {
			t.Errorf("mail list --limit 0 -o json: exit %d\n%s%s", code, out, errOut)
		}
		seen := map[string]bool{}
		for _, m := range mails.Mails {
			if seen[m.ID] {
				t.Errorf("mail %s listed twice", m.ID)
			}
			seen[m.ID] = true
		}
	}

	f := <-followed
	if f[0] != "0" || !strings.Contains(f[1], "registration.application.submitted.v1") || !strings.Contains(f[1], partner) ||
		!strings.Contains(f[2], "resume with --after") && !strings.Contains(f[1], "\nnext: ") {
		t.Fatalf("feed list --follow: exit %s\n%s%s", f[0], f[1], f[2])
	}
	// The same event listed, then nothing after the cursor.
	out = mustCtl(t, s, "feed", "list", "--type", "registration.application.")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "registration.application.submitted.v1") || !strings.Contains(lines[0], partner) ||
		!strings.HasPrefix(lines[1], "next: ") {
		t.Fatalf("feed list:\n%s", out)
	}
	cursor := strings.TrimPrefix(lines[1], "next: ")
	if out = mustCtl(t, s, "feed", "list", "--after", cursor, "--type", "registration.application."); out != "next: "+cursor+"\n" {
		t.Errorf("feed list --after the last cursor:\n%s", out)
	}
	var page struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	out = mustCtl(t, s, "feed", "list", "--partner", partner, "--limit", "0", "-o", "json")
	if json.Unmarshal([]byte(out), &page) != nil || len(page.Events) == 0 {
		t.Errorf("feed list -o json:\n%s", out)
	}

	// The delivery of the submission, verified by the receiver.
	deliveries := func(args ...string) deliveryLog {
		t.Helper()
		var log deliveryLog
		out := mustCtl(t, s, append([]string{"webhooks", "deliveries", endpoint, "-o", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &log); err != nil {
			t.Fatalf("deliveries -o json: %v\n%s", err, out)
		}
		return log
	}
	var delivery string
	e2e.Eventually(t, 20*time.Second, "the submission delivered", func() error {
		log := deliveries("--state", "succeeded")
		for _, d := range log.Deliveries {
			if d.EventID == submitted.ID && d.LastStatus == http.StatusNoContent {
				delivery = d.ID
				return nil
			}
		}
		return fmt.Errorf("succeeded deliveries %+v", log.Deliveries)
	})
	if ids := recv.ids(func(ev cloudevents.Event) bool { return ev.Subject() == partner }); len(ids) != 1 || ids[0] != submitted.ID {
		t.Fatalf("the receiver verified %v, want the submission %s", ids, submitted.ID)
	}
	if out = mustCtl(t, s, "webhooks", "deliveries", endpoint); !strings.Contains(out, delivery+"  succeeded  1") {
		t.Errorf("webhooks deliveries:\n%s", out)
	}

	// Redelivered by hand: one more attempt, marked manual.
	if out = mustCtl(t, s, "webhooks", "redeliver", endpoint, delivery); !strings.HasPrefix(out, "queued: "+delivery) {
		t.Errorf("webhooks redeliver:\n%s", out)
	}
	waitAttempts := func(n int) {
		t.Helper()
		e2e.Eventually(t, 20*time.Second, fmt.Sprintf("%d attempts of the delivery", n), func() error {
			for _, d := range deliveries().Deliveries {
				if d.ID == delivery {
					if len(d.AttemptLog) < n {
						return fmt.Errorf("attempts %+v", d.AttemptLog)
					}
					last := d.AttemptLog[0]
					if d.AttemptLog[len(d.AttemptLog)-1].Manual {
						last = d.AttemptLog[len(d.AttemptLog)-1]
					}
					if !last.Manual || last.Status != http.StatusNoContent || d.State != "succeeded" {
						return fmt.Errorf("state %s, attempts %+v", d.State, d.AttemptLog)
					}
					return nil
				}
			}
			return fmt.Errorf("no delivery %s", delivery)
		})
	}
	waitAttempts(2)

	// A new secret: printed once, never by show; the receiver switches to
	// it at once and a redelivery still verifies.
	code, out, errOut = partnerctl(context.Background(), s, false, "webhooks", "rotate", endpoint, "--previous-expires-in", "1h")
	rotated := regexp.MustCompile(`(?m)^new secret: +(whsec_\S+)$`).FindStringSubmatch(out)
	if code != cli.ExitOK || rotated == nil || rotated[1] == sec[1] || !strings.Contains(errOut, "shown only this once") {
		t.Fatalf("webhooks rotate: exit %d\n%s%s", code, out, errOut)
	}
	useSecret(rotated[1])
	out = mustCtl(t, s, "webhooks", "show", endpoint)
	if strings.Count(out, "signing key:") != 2 || strings.Contains(out, "whsec_") || !strings.Contains(out, "signs until") {
		t.Errorf("webhooks show after a rotation:\n%s", out)
	}
	mustCtl(t, s, "webhooks", "redeliver", endpoint, delivery)
	waitAttempts(3)

	// Disable, list, enable; another system sees none of it.
	if out = mustCtl(t, s, "webhooks", "disable", endpoint); !strings.Contains(out, "status:       disabled (disabled by caller") {
		t.Errorf("webhooks disable:\n%s", out)
	}
	if out = mustCtl(t, s, "webhooks", "list"); !regexp.MustCompile(endpoint + `\s+disabled \(disabled by caller`).MatchString(out) {
		t.Errorf("webhooks list:\n%s", out)
	}
	if out = mustCtl(t, s, "webhooks", "enable", endpoint); !strings.Contains(out, "status:       enabled") {
		t.Errorf("webhooks enable:\n%s", out)
	}
	code, _, errOut = partnerctl(context.Background(), s, true, "webhooks", "show", endpoint, "--as-upstream", "--as-sub", "another-crm")
	if code != cli.ExitNotFound || !strings.Contains(errOut, "timeline.webhook_endpoint_unknown") {
		t.Errorf("another system's show: exit %d %s", code, errOut)
	}
	code, out, _ = partnerctl(context.Background(), s, true, "webhooks", "list", "--consumer", crmCtl.Subject)
	if code != cli.ExitOK || !strings.Contains(out, endpoint) {
		t.Errorf("an operator's list: exit %d\n%s", code, out)
	}
	if out = mustCtl(t, s, "webhooks", "delete", endpoint); out != "deleted "+endpoint+"\n" {
		t.Errorf("webhooks delete: %q", out)
	}
	if code, _, _ = partnerctl(context.Background(), s, false, "webhooks", "show", endpoint); code != cli.ExitNotFound {
		t.Errorf("show after delete: exit %d", code)
	}
	if p := recv.problems(); len(p) > 0 {
		t.Errorf("receiver problems: %v", p)
	}
}
