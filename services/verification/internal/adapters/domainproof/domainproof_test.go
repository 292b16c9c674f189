package domainproof_test

import (
	"context"
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
