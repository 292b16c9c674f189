package service_test

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/bus"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
)

// TestAReplicaSendsAgainWhatADeadSenderHeld: two notifiers share the
// partitions. One stops while its SMTP server holds every mail it is
// sending (a sender gone mid-send: its heartbeats end, its leases run
// out). The other runs with the production TIMER_INTERVAL (30 s) and last
// looked at the deliveries before those mails were claimed, so only the
// bound on its delivery job's sleep finds them: it must send each within
// one lease and a half of the stop, with the same Message-ID.
func TestAReplicaSendsAgainWhatADeadSenderHeld(t *testing.T) {
	const lease = 3 * time.Second
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var mu sync.Mutex
	held := map[string]string{} // recipient → Message-ID of the copy the stopped sender held

	pub, priv, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, opts{lease: lease, timer: 30 * time.Second, pub: pub, priv: priv})
	a := start(t, opts{lease: lease, timer: 30 * time.Second, natsURL: b.natsURL, db: b.db, jwks: b.jwks, pub: pub, priv: priv,
		smtp: smtptest.Options{BeforeAccept: func(r smtptest.Received) {
			p, _ := smtptest.Parse(r.Data)
			mu.Lock()
			held[r.To[0]] = p.Header.Get("Message-Id")
			mu.Unlock()
			<-release
		}}})
	testkit.Eventually(t, 20*time.Second, func() error {
		if na, nb := len(a.svc.Base.Owned()), len(b.svc.Base.Owned()); na != 2 || nb != 2 {
			return fmt.Errorf("partitions owned: %d and %d", na, nb)
		}
		return nil
	})
	aOwns := a.svc.Base.Owned()

	// One mail per partition: B's first, delivered, then A's, held.
	mail := func(p int) {
		var partner string
		for n := 0; partner == ""; n++ {
			id, _ := ids.Format(ids.Partner, fmt.Sprintf("TAKE%06d", n))
			if bus.PartitionFor(id) == p {
				partner = id
			}
		}
		req := b.request(fmt.Sprintf("ch-takeover-%d", p), time.Now().Add(72*time.Hour))
		req.PartnerID, req.Recipient = partner, fmt.Sprintf("taro%d@yamada.example.co.jp", p)
		publish(t, b.js, emailv1.TypeVerificationMailRequested, "", partner, req)
	}
	for p := range bus.Partitions {
		if !slices.Contains(aOwns, p) {
			mail(p)
		}
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := len(b.smtp.Messages()); n != bus.Partitions-len(aOwns) {
			return fmt.Errorf("%d mails sent by B", n)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // B's delivery job has run and sleeps
	for _, p := range aOwns {
		mail(p)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(held) != len(aOwns) {
			return fmt.Errorf("%d mails held from A", len(held))
		}
		return nil
	})

	a.run.Stop()
	stopped := time.Now()
	mu.Lock()
	want := maps.Clone(held)
	mu.Unlock()
	testkit.Eventually(t, 40*time.Second, func() error {
		got := map[string]string{}
		for _, m := range b.smtp.Messages() {
			p, _ := smtptest.Parse(m.Data)
			got[m.To[0]] = p.Header.Get("Message-Id")
		}
		for rcpt, id := range want {
			if got[rcpt] != id {
				return fmt.Errorf("%s: %q from B, want the held mail %q", rcpt, got[rcpt], id)
			}
		}
		return nil
	})
	took, limit := time.Since(stopped), lease*3/2+time.Second
	t.Logf("the %d held mails went again %s after their sender stopped", len(want), took.Round(time.Millisecond))
	if took > limit {
		t.Errorf("the held mails went again %s after their sender stopped, want at most %s (one lease and a half)", took.Round(time.Millisecond), limit)
	}
}
