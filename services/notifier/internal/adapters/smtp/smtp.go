// Package smtp sends mail over SMTP with github.com/wneessen/go-mail:
// STARTTLS, implicit TLS, or plain (local development only), with optional
// authentication. SMTP 5xx answers are reported as permanent (app.ErrPermanent).
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// TLSMode is how the connection is protected.
type TLSMode string

// TLS modes.
const (
	TLSStartTLS TLSMode = "starttls" // plain connect, then mandatory STARTTLS (port 587)
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (port 465)
	TLSNone     TLSMode = "none"     // no TLS: only for a local test server
)

// Config configures the sender.
type Config struct {
	Host     string
	Port     int     // default by mode: 587, 465 or 25
	TLSMode  TLSMode // default starttls
	Username string  // empty: no AUTH
	Password string
	// AuthMechanism: "PLAIN" (default with a username), "LOGIN", "CRAM-MD5",
	// "SCRAM-SHA-256". With TLSNone, PLAIN and LOGIN are sent unencrypted.
	AuthMechanism string
	From          string // bare address
	FromName      string
	HELO          string        // default: go-mail's (the host name)
	Timeout       time.Duration // per connection, default 15s
	// TLSConfig overrides the TLS settings (e.g. RootCAs in tests). ServerName
	// defaults to Host.
	TLSConfig *tls.Config
	// MessageIDDomain is the right side of Message-IDs (default: From's domain).
	MessageIDDomain string
	// Connections is how many open connections are kept for the next
	// mails (default 4; negative: dial per mail). A kept connection is
	// replaced once it has been idle for IdleTimeout or carried
	// MaxPerConnection mails, and when the server turns out to have closed
	// it (the next mail then goes out on a new one).
	Connections      int
	IdleTimeout      time.Duration // default 30s (RFC 5321 servers wait at least 5 min)
	MaxPerConnection int           // default 100
}

func (c *Config) defaults() {
	if c.TLSMode == "" {
		c.TLSMode = TLSStartTLS
	}
	if c.Port == 0 {
		c.Port = map[TLSMode]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[c.TLSMode]
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Connections == 0 {
		c.Connections = 4
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.MaxPerConnection == 0 {
		c.MaxPerConnection = 100
	}
	if c.Username != "" && c.AuthMechanism == "" {
		c.AuthMechanism = "PLAIN"
	}
	if c.MessageIDDomain == "" {
		if i := strings.LastIndexByte(c.From, '@'); i >= 0 {
			c.MessageIDDomain = c.From[i+1:]
		}
	}
}

// Validate reports every bad field (after defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("smtp: host is required"))
	}
	if c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, errors.New("smtp: port out of range"))
	}
	switch c.TLSMode {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		errs = append(errs, fmt.Errorf("smtp: unknown TLS mode %q", c.TLSMode))
	}
	if a, err := mail.ParseAddress(c.From); err != nil || a.Address != c.From {
		errs = append(errs, errors.New("smtp: from must be a bare e-mail address"))
	}
	if _, err := c.authType(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) authType() (gomail.SMTPAuthType, error) {
	if c.Username == "" {
		return "", nil
	}
	plain := c.TLSMode == TLSNone
	switch strings.ToUpper(c.AuthMechanism) {
	case "PLAIN":
		if plain {
			return gomail.SMTPAuthPlainNoEnc, nil
		}
		return gomail.SMTPAuthPlain, nil
	case "LOGIN":
		if plain {
			return gomail.SMTPAuthLoginNoEnc, nil
		}
		return gomail.SMTPAuthLogin, nil
	case "CRAM-MD5":
		return gomail.SMTPAuthCramMD5, nil
	case "SCRAM-SHA-256":
		return gomail.SMTPAuthSCRAMSHA256, nil
	}
	return "", fmt.Errorf("smtp: unsupported auth mechanism %q", c.AuthMechanism)
}

// Sender implements app.Sender. It keeps a few connections open between
// mails, so a burst of mails pays one TCP and TLS handshake and one AUTH
// per connection rather than per mail; a connection the server dropped
// while idle is noticed when the next mail's MAIL FROM gets no answer (or
// 421), and that mail goes out on a new connection without failing.
//
// A kept connection is not checked with NOOP before each mail (go-mail's
// default): go-mail v0.8.1 checks twice, so on a live connection that is
// two round trips of the seven a mail takes (NOOP, NOOP, MAIL, RCPT, DATA,
// the message, RSET). Nor is it reset with RSET after each mail (go-mail's
// default too): the server's answer to the message ends the mail
// transaction (RFC 5321 4.1.1.4), so the next MAIL FROM may follow at once,
// and RSET was one more round trip per mail, holding the connection from
// the next mail. A mail is four round trips.
// MAIL FROM is the transaction's first command, so when it fails nothing
// of the mail reached the server, and trying again on a new connection
// cannot send it twice.
type Sender struct {
	cfg  Config
	opts []gomail.Option
	idle chan *conn
	now  func() time.Time

	// unreachable is why the latest dial (connect, greeting, STARTTLS,
	// AUTH) failed, and since when; nil once one succeeds (Check).
	mu          sync.Mutex
	unreachable error
	since       time.Time
}

// conn is an open connection and its use.
type conn struct {
	client    *gomail.Client
	idleSince time.Time
	sent      int
}

// New validates cfg and builds a Sender.
func New(cfg Config) (*Sender, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout), gomail.WithTLSConfig(tc), gomail.WithoutNoop(), gomail.WithoutRset()}
	switch cfg.TLSMode {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	at, _ := cfg.authType()
	if at != "" {
		opts = append(opts, gomail.WithSMTPAuth(at), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	return &Sender{cfg: cfg, opts: opts, idle: make(chan *conn, max(cfg.Connections, 0)), now: time.Now}, nil
}

// MessageIDDomain is the right side of the Message-IDs it writes.
func (s *Sender) MessageIDDomain() string { return s.cfg.MessageIDDomain }

// Send delivers m: plain text with an HTML alternative (package mails
// composes it, as `partnerctl mail render --eml` does).
func (s *Sender) Send(ctx context.Context, m app.Message) error {
	msg, err := mails.Compose(mails.Envelope{ID: m.ID, MessageIDDomain: s.cfg.MessageIDDomain, From: s.cfg.From, FromName: s.cfg.FromName,
		To: m.To, ToName: m.ToName, Rendered: m.Rendered, Unsubscribe: m.Unsubscribe})
	if err != nil {
		return &app.SendError{Permanent: true, Err: err}
	}
	for {
		c, reused, err := s.acquire(ctx)
		var permanent *app.SendError
		if errors.As(err, &permanent) {
			return permanent
		}
		if err != nil {
			return classify(err)
		}
		err = c.client.Send(msg)
		if err == nil {
			c.sent++
			s.release(c)
			return nil
		}
		_ = c.client.Close()
		if msg.IsDelivered() {
			// The server took the message; what failed came after it.
			return nil
		}
		var se *gomail.SendError
		if reused && errors.As(err, &se) && stale(se) {
			continue // nothing was sent on the stale connection: take or dial another
		}
		return classify(err)
	}
}

// acquire hands out a kept connection that is still fresh, or dials one.
func (s *Sender) acquire(ctx context.Context) (*conn, bool, error) {
	for {
		select {
		case c := <-s.idle:
			if s.now().Sub(c.idleSince) >= s.cfg.IdleTimeout || c.sent >= s.cfg.MaxPerConnection {
				_ = c.client.Close()
				continue
			}
			return c, true, nil
		default:
		}
		client, err := gomail.NewClient(s.cfg.Host, s.opts...)
		if err != nil {
			return nil, false, &app.SendError{Permanent: true, Err: fmt.Errorf("smtp client: %w", err)}
		}
		if err := client.DialWithContext(ctx); err != nil {
			if ctx.Err() == nil {
				s.dialed(err)
			}
			return nil, false, err
		}
		s.dialed(nil)
		return &conn{client: client}, false, nil
	}
}

// dialed records the outcome of a dial for Check.
func (s *Sender) dialed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.unreachable = nil
	case s.unreachable == nil:
		s.unreachable, s.since = err, s.now()
	default:
		s.unreachable = err
	}
}

// Check is the readiness check of the SMTP server: degraded while the
// latest attempt to open a connection (connect, greeting, STARTTLS, AUTH)
// failed — a server down, a TLS or credential mismatch: no mail can leave,
// and they wait and are retried —, not unready, as every instance shares
// the outage. A recipient the server refuses says nothing about it.
func (s *Sender) Check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unreachable == nil {
		return nil
	}
	return httpx.Degraded(fmt.Errorf("no connection to %s:%d since %s: %v; mails wait and are retried",
		s.cfg.Host, s.cfg.Port, s.since.UTC().Format(time.RFC3339), s.unreachable))
}

// release keeps c for the next mail, or closes it when enough are kept.
func (s *Sender) release(c *conn) {
	c.idleSince = s.now()
	select {
	case s.idle <- c:
	default:
		_ = c.client.Close()
	}
}

// Close closes the kept connections (QUIT).
func (s *Sender) Close() {
	for {
		select {
		case c := <-s.idle:
			_ = c.client.Close()
		default:
			return
		}
	}
}

// stale reports whether a mail failed on a kept connection that the server
// had closed: the connection check failed, or MAIL FROM got no reply (the
// connection is gone) or 421 (the server is closing it).
func stale(se *gomail.SendError) bool {
	switch se.Reason {
	case gomail.ErrConnCheck:
		return true
	case gomail.ErrSMTPMailFrom:
		code := se.ErrorCode()
		return code == 0 || code == 421
	}
	return false
}

// classify keeps the server's reply code and marks 5xx answers permanent;
// connection problems, 4xx and anything unknown stay temporary (retried
// within the mail's expiry). A server's answer is said in its own words
// (answered): that is what an attempt's error, and a mail failure shown to
// partners, carries.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		permanent := !se.IsTemp() && code >= 500 && code < 600
		if text, ok := answered(se); ok {
			return &app.SendError{Code: code, Permanent: permanent, Err: &replyError{text: text, err: err}}
		}
		return &app.SendError{Code: code, Permanent: permanent, Err: fmt.Errorf("smtp send: %w", err)}
	}
	return &app.SendError{Err: fmt.Errorf("smtp send: %w", err)}
}

// replyError says a server's answer; it unwraps to go-mail's error.
type replyError struct {
	text string
	err  error
}

func (e *replyError) Error() string { return e.text }
func (e *replyError) Unwrap() error { return e.err }

// steps name the SMTP step a server answered, by go-mail's reason.
var steps = map[gomail.SendErrReason]string{
	gomail.ErrSMTPMailFrom:  "MAIL FROM",
	gomail.ErrSMTPRcptTo:    "RCPT TO",
	gomail.ErrSMTPData:      "DATA",
	gomail.ErrSMTPDataClose: "the message",
	gomail.ErrSMTPReset:     "RSET",
}

// answered is "the server answered <step> with <code> <text>" when se
// carries a server's reply: go-mail's wording around it (its step, the
// reply quoted, the recipients, the message ID — which the address masking
// took for an address) is for programmers. The reply's text is kept as
// the server wrote it, made valid UTF-8.
func answered(se *gomail.SendError) (string, bool) {
	step, ok := steps[se.Reason]
	if !ok || se.ErrorCode() == 0 {
		return "", false
	}
	s := strings.TrimPrefix(se.Error(), se.Reason.String()+": ")
	for _, tail := range []string{", affected recipient(s): ", ", affected message ID: "} {
		if i := strings.Index(s, tail); i >= 0 {
			s = s[:i]
		}
	}
	code, text, ok := strings.Cut(s, " ")
	if !ok || code != strconv.Itoa(se.ErrorCode()) {
		return "", false
	}
	if u, err := strconv.Unquote(text); err == nil {
		text = u
	}
	return "the server answered " + step + " with " + code + " " + strings.ToValidUTF8(text, "\uFFFD"), true
}
