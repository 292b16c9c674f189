package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/demo"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// TestABrokerRestartMidOnboardingsLosesNothing restarts the JetStream
// server while several onboardings run through the real binaries. The
// services keep their durables in the server's memory, so the restart loses
// every one of them; each service creates its durables again from the ack
// floors it recorded in Postgres. Every onboarding still completes, no
// event is lost or published twice (gap-free sequences), nothing is
// dead-lettered and no mail is sent twice.
func TestABrokerRestartMidOnboardingsLosesNothing(t *testing.T) {
	s := e2e.Start(t)
	// The demo's onboarding (a reseller and its distributor, from
	// registration to an authorised relationship: every service takes
	// part), with the server restarted while it runs.
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := demo.Run(ctx, s.DemoConfig(&out))
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // under way: the demo takes about 0.6 s
	s.RestartNATS()
	t.Log("restarted the JetStream server")
	if err := <-done; err != nil {
		t.Log(out.String())
		for _, name := range s.ServiceNames() {
			t.Logf("--- %s\n%s", name, s.Log(name))
		}
		t.Fatalf("onboarding: %v", err)
	}

	// Every service lost its durables, and each found out and created them
	// again (at once if it was pulling, else at its next pull).
	recreated := 0
	e2e.Eventually(t, 10*time.Second, "every service to create its durables again", func() error {
		recreated = 0
		for _, name := range s.ServiceNames() {
			n := strings.Count(s.Log(name), "the server lost a durable")
			if n == 0 {
				return fmt.Errorf("%s created no durable again", name)
			}
			recreated += n
		}
		return nil
	})
	t.Logf("durables created again after the restart: %d", recreated)

	s.Events.Settle(500*time.Millisecond, 10*time.Second)
	s.AssertNoDeadLetters(t)
	assertGapFreeSequences(t, s)
	mails, err := s.Mails("")
	if err != nil {
		t.Fatal(err)
	}
	ids, contents := map[string]string{}, map[string]string{}
	for _, m := range mails {
		if prev, ok := ids[m.MessageID]; ok && m.MessageID != "" {
			t.Errorf("mail %s sent twice: %s and %s", m.MessageID, prev, m.File)
		}
		ids[m.MessageID] = m.File
		key := m.To + "\x00" + m.Subject + "\x00" + m.Text
		if prev, ok := contents[key]; ok {
			t.Errorf("the same mail to %s (%q) sent twice: %s and %s", m.To, m.Subject, prev, m.File)
		}
		contents[key] = m.File
	}
	if len(mails) == 0 {
		t.Error("no mail sent")
	}
	t.Logf("%d mails, each sent once", len(mails))
	s.Stop(t)
}
