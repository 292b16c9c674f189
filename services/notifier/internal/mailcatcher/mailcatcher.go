// Package mailcatcher runs a real SMTP server (github.com/emersion/go-smtp)
// that accepts every message and keeps it: in memory, and as .eml files when
// Options.Dir is set. Tests use it as the receiving server (plain, STARTTLS
// or implicit TLS, optional AUTH PLAIN, stoppable and restartable on the same
// address); `make run` starts one inside the notifier when SMTP_HOST is
// empty, so local mail lands in .run/mail. It also parses MIME messages.
package mailcatcher

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// TLS modes of the test server.
const (
	ModePlain    = "plain"
	ModeStartTLS = "starttls"
	ModeImplicit = "implicit"
)

// Options configure the server.
type Options struct {
	Mode     string // ModePlain (default), ModeStartTLS, ModeImplicit
	Username string // non-empty: AUTH PLAIN required before MAIL
	Password string
	// RejectRcpt answers RCPT TO with 550 (a permanent refusal), its text
	// RejectText when set (a server's own words, in any bytes it likes).
	RejectRcpt bool
	RejectText string
	// Addr to listen on; default 127.0.0.1:0 (a random port).
	Addr string
	// Dir, when set, receives every message as <Dir>/<time>-<n>.eml.
	Dir string
	// OnMessage is called after each accepted message (path is "" without Dir).
	OnMessage func(path string, r Received)
	// BeforeAccept, when set, is called with each message after its DATA
	// is read and before the server answers: a test holds it there to
	// stand for a slow server.
	BeforeAccept func(r Received)
	// CountCommands has the server count the commands clients send
	// (Server.Commands), for tests of a client's conversation.
	CountCommands bool
}

// Received is one accepted message.
type Received struct {
	From     string
	To       []string
	Data     []byte
	AuthUser string
	TLS      bool
}

// Server is a running test server.
type Server struct {
	Host  string
	Port  int
	Roots *x509.CertPool // trusts the server's self-signed certificate

	opts  Options
	cert  tls.Certificate
	mu    sync.Mutex
	msgs  []Received
	conns int
	srv   *gosmtp.Server
	ln    net.Listener
	addr  string
	verbs map[string]int // commands clients sent, by verb
	line  []byte         // the protocol text since the last line end
}

// Start starts a server; Stop ends it.
func Start(o Options) (*Server, error) {
	if o.Mode == "" {
		o.Mode = ModePlain
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Dir != "" {
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return nil, err
		}
	}
	s := &Server{opts: o}
	var err error
	if s.cert, s.Roots, err = selfSigned(); err != nil {
		return nil, err
	}
	ln, err := s.listen(o.Addr)
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	s.serve(ln)
	return s, nil
}

func (s *Server) listen(addr string) (net.Listener, error) {
	var ln net.Listener
	var err error
	if s.opts.Mode == ModeImplicit {
		ln, err = tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{s.cert}})
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mailcatcher: listen %s: %w", addr, err)
	}
	return countingListener{Listener: ln, s: s}, nil
}

// countingListener counts the connections clients open.
type countingListener struct {
	net.Listener
	s *Server
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

func (s *Server) serve(ln net.Listener) {
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "mailcatcher.local"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = s.opts.Mode == ModePlain
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are asserted by the tests
	if s.opts.CountCommands {
		srv.Debug = verbCounter{s}
	}
	if s.opts.Mode == ModeStartTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{s.cert}}
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// verbCounter counts the commands of the protocol text go-smtp copies to
// its Debug writer (what clients send and what the server answers, after
// TLS): lines that start with an SMTP verb, then a space or their end.
type verbCounter struct{ s *Server }

func (v verbCounter) Write(p []byte) (int, error) {
	s := v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range p {
		if b != '\n' {
			s.line = append(s.line, b)
			continue
		}
		verb, _, _ := strings.Cut(strings.TrimRight(string(s.line), "\r"), " ")
		if verb = strings.ToUpper(verb); slices.Contains(smtpVerbs, verb) {
			if s.verbs == nil {
				s.verbs = map[string]int{}
			}
			s.verbs[verb]++
		}
		s.line = s.line[:0]
	}
	return len(p), nil
}

var smtpVerbs = []string{"HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "VRFY", "QUIT"}

// Commands is how many commands with verb ("NOOP", "MAIL") clients sent,
// when Options.CountCommands is set (a line of a message that starts like
// a command counts too).
func (s *Server) Commands(verb string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verbs[strings.ToUpper(verb)]
}

// Stop closes the listener and every connection (the server is "down").
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Close the listener ourselves too: Serve runs in a goroutine and may
		// not have registered it with the server yet.
		_ = ln.Close()
		_ = srv.Close()
	}
}

// Restart serves again on the same address, keeping received messages.
func (s *Server) Restart() error {
	s.Stop()
	ln, err := s.listen(s.addr)
	if err != nil {
		return err
	}
	s.serve(ln)
	return nil
}

// Connections returns how many connections clients have opened so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

type session struct {
	s      *Server
	conn   *gosmtp.Conn
	authed string
	from   string
	to     []string
}

func (x *session) AuthMechanisms() []string {
	if x.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != x.s.opts.Username || pass != x.s.opts.Password {
			return errors.New("invalid credentials")
		}
		x.authed = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if x.s.opts.Username != "" && x.authed == "" {
		return gosmtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if x.s.opts.RejectRcpt {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: cmp.Or(x.s.opts.RejectText, "no such user")}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := x.conn.TLSConnectionState()
	rcv := Received{From: x.from, To: x.to, Data: b, AuthUser: x.authed, TLS: isTLS}
	if x.s.opts.BeforeAccept != nil {
		x.s.opts.BeforeAccept(rcv)
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, rcv)
	n := len(x.s.msgs)
	x.s.mu.Unlock()
	path := ""
	if x.s.opts.Dir != "" {
		path = filepath.Join(x.s.opts.Dir, fmt.Sprintf("%s-%04d.eml", time.Now().UTC().Format("20060102T150405"), n))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	}
	if x.s.opts.OnMessage != nil {
		x.s.opts.OnMessage(path, rcv)
	}
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// Parsed is a received message taken apart.
type Parsed struct {
	Header  mail.Header
	Subject string // decoded
	To      string // decoded
	Text    string // decoded text/plain part, LF line ends
	HTML    string // decoded text/html part, LF line ends
}

// Parse decodes a MIME message with text/plain and text/html parts.
func Parse(data []byte) (Parsed, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Parsed{}, err
	}
	dec := new(mime.WordDecoder)
	p := Parsed{Header: m.Header}
	if p.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		return p, err
	}
	p.To, _ = dec.DecodeHeader(m.Header.Get("To"))
	err = walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &p)
	return p, err
}

func walk(ctype, cte string, body io.Reader, p *Parsed) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, p); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &crlfStripper{r: body})
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n") // SMTP lines end in CRLF
	switch mt {
	case "text/plain":
		p.Text = text
	case "text/html":
		p.HTML = text
	}
	return nil
}

type crlfStripper struct{ r io.Reader }

func (c *crlfStripper) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	j := 0
	for i := 0; i < n; i++ {
		if b[i] != '\r' && b[i] != '\n' {
			b[j] = b[i]
			j++
		}
	}
	return j, err
}
