// Package domainprooftest runs what an applicant publishes for a domain
// proof, for tests: an in-process DNS server (github.com/miekg/dns) that
// answers TXT queries, and an HTTPS server whose client reaches it for any
// host name.
package domainprooftest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is an authoritative-enough DNS server on 127.0.0.1 (UDP) that answers
// TXT queries from its records and NXDOMAIN otherwise.
type DNS struct {
	Addr string
	mu   sync.Mutex
	txt  map[string][]string
}

// StartDNS starts a DNS server for the test.
func StartDNS(tb testing.TB) *DNS {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	d := &DNS{Addr: pc.LocalAddr().String(), txt: map[string][]string{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return d
}

// SetTXT publishes the TXT strings of name (replacing what was there).
func (d *DNS) SetTXT(name string, values ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txt[dns.Fqdn(strings.ToLower(name))] = values
}

func (d *DNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range req.Question {
		values, ok := d.txt[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if q.Qtype != dns.TypeTXT {
			continue
		}
		for _, v := range values {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}})
		}
	}
	_ = w.WriteMsg(m)
}

// Web is an HTTPS server with per-path files; Client reaches it whatever
// the URL's host (as if every domain pointed at it) and trusts its
// certificate.
type Web struct {
	Server *httptest.Server
	Client *http.Client
	mu     sync.Mutex
	files  map[string]string // host + path → body
}

// StartWeb starts the HTTPS server for the test.
func StartWeb(tb testing.TB) *Web {
	tb.Helper()
	w := &Web{files: map[string]string{}}
	w.Server = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		body, ok := w.files[r.Host+r.URL.Path]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		_, _ = rw.Write([]byte(body))
	}))
	tb.Cleanup(w.Server.Close)
	c := w.Server.Client()
	tr := c.Transport.(*http.Transport).Clone()
	addr := w.Server.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.InsecureSkipVerify = true // the test certificate names 127.0.0.1, not the applicant's domain
	w.Client = &http.Client{Transport: tr}
	return w
}

// Serve publishes body at https://host/path.
func (w *Web) Serve(host, path, body string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files[host+path] = body
}
