package domainproof_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/verification/internal/adapters/domainproof"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/domainproof/domainprooftest"
)

func TestLookupTXTFromARealResolver(t *testing.T) {
	srv := domainprooftest.StartDNS(t)
	srv.SetTXT("_partnerhub-verification.mirai-cloud.co.jp", "v=spf1 -all", "partnerhub-verification=tok123")
	l := domainproof.New(srv.Addr, 2*time.Second, nil)
	got, err := l.LookupTXT(context.Background(), "_partnerhub-verification.mirai-cloud.co.jp")
	if err != nil || !slices.Contains(got, "partnerhub-verification=tok123") {
		t.Fatalf("TXT: %v %v", got, err)
	}
	got, err = l.LookupTXT(context.Background(), "_partnerhub-verification.other.co.jp")
	if err != nil || len(got) != 0 {
		t.Fatalf("a missing name is no proof and no failure: %v %v", got, err)
	}
	down := domainproof.New("127.0.0.1:1", 300*time.Millisecond, nil)
	if _, err := down.LookupTXT(context.Background(), "_partnerhub-verification.mirai-cloud.co.jp"); err == nil {
		t.Fatal("an unreachable resolver must be a failure, not an empty answer")
	}
}

func TestFetchWellKnownOverHTTPS(t *testing.T) {
	web := domainprooftest.StartWeb(t)
	web.Serve("mirai-cloud.co.jp", "/.well-known/partnerhub-verification.txt", "# proof\npartnerhub-verification=tok123\n")
	l := domainproof.New("", 2*time.Second, web.Client)
	got, err := l.FetchWellKnown(context.Background(), "https://mirai-cloud.co.jp/.well-known/partnerhub-verification.txt")
	if err != nil || !slices.Contains(got, "partnerhub-verification=tok123") {
		t.Fatalf("well-known: %v %v", got, err)
	}
	got, err = l.FetchWellKnown(context.Background(), "https://other.co.jp/.well-known/partnerhub-verification.txt")
	if err != nil || len(got) != 0 {
		t.Fatalf("404 is no proof and no failure: %v %v", got, err)
	}
}

// TestTheApplicantsDomainCannotReachInside: the domain is the applicant's,
// so the default client connects to public addresses only — a name (or a
// redirect) pointing at this machine, the cloud metadata address or a
// private network finds no proof and reaches nothing.
func TestTheApplicantsDomainCannotReachInside(t *testing.T) {
	hits := 0
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits++
		_, _ = w.Write([]byte("partnerhub-verification=tok123\n"))
	}))
	defer inside.Close()
	_, port, _ := net.SplitHostPort(inside.Listener.Addr().String())
	l := domainproof.New("", 2*time.Second, nil)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		got, err := l.FetchWellKnown(context.Background(), "http://"+net.JoinHostPort(host, port)+"/.well-known/partnerhub-verification.txt")
		if err != nil || len(got) != 0 {
			t.Errorf("%s: %v %v, want no proof", host, got, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the lookup reached a server on this machine %d times", hits)
	}
}
