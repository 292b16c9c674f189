// Package domainproof is the DomainProofLookup adapter: it reads the TXT
// records of a DNS name (from the configured resolver, or the system's) and
// the lines of a file at an HTTPS URL, for the employment check's domain
// proof.
package domainproof

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/partnerhub/onboarding/pkg/egress"
)

// maxBody bounds the well-known file read (the token is one short line).
const maxBody = 4 << 10

// Lookup reads domain proofs.
type Lookup struct {
	Resolver *net.Resolver
	Client   *http.Client
}

// New returns a lookup that asks dnsServer (host:port; empty: the system
// resolver) and fetches over HTTPS with client, each lookup bounded by
// timeout. A nil client reaches public addresses only (pkg/egress): the
// domain is the applicant's, and its name — or a redirect — must not make
// this service call into the network it runs in.
func New(dnsServer string, timeout time.Duration, client *http.Client) *Lookup {
	r := net.DefaultResolver
	if dnsServer != "" {
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dnsServer)
		}}
	}
	if client == nil {
		client = &http.Client{Transport: egress.Transport(timeout, false)}
	}
	c := *client
	if c.Timeout == 0 {
		c.Timeout = timeout
	}
	// Only HTTPS proves control of the name (a redirect to plain HTTP could
	// be answered by anyone on the path).
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" || len(via) >= 3 {
			return errors.New("redirect refused")
		}
		return nil
	}
	return &Lookup{Resolver: r, Client: &c}
}

// LookupTXT returns the TXT strings at name; none when the name does not exist.
func (l *Lookup) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, err := l.Resolver.LookupTXT(ctx, name)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("TXT %s: %w", name, err)
	}
	return txts, nil
}

// FetchWellKnown returns the lines of the file at url. A server that does
// not answer 200 (or not at all) serves no proof: nothing is found, which
// the applicant can fix; it is not our failure.
func (l *Lookup) FetchWellKnown(ctx context.Context, url string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "partnerhub-verification/1 (domain proof)")
	res, err := l.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil
	}
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(res.Body, maxBody))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, nil
}
