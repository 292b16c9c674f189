package bench

import (
	"bytes"
	"encoding/base64"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Mail is one message the sink accepted, stamped when its DATA ended.
type Mail struct {
	At      time.Time
	To      []string // envelope recipients, lower case
	Subject string
	Text    string // decoded text parts
	Link    string // the e-mail confirmation link, "" if none was found
	// MessageID is the Message-ID header: the notifier keeps it per mail,
	// so a mail sent again (after a crash mid-send) carries the same one.
	MessageID string
}

// MailSink is the SMTP server the notifier sends to (SMTP_HOST, SMTP_PORT,
// SMTP_TLS=none): it accepts every message, parses it at once and hands it
// to OnMail, so a mail's arrival is known the moment the notifier sent it.
type MailSink struct {
	Host     string
	Port     int
	srv      *gosmtp.Server
	received atomic.Int64

	mu     sync.Mutex
	opened []time.Time
	ids    map[string]int // Message-ID → times received
}

// Connections returns when each SMTP connection so far was accepted (the
// notifier keeps connections between mails, so there are far fewer than
// mails).
func (s *MailSink) Connections() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.opened...)
}

// StartMailSink listens on a random local port; linkBase is the e-mail
// ownership service's public URL (LINK_BASE_URL) the confirmation link starts with.
func StartMailSink(linkBase string, onMail func(Mail)) (*MailSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &MailSink{ids: map[string]int{}}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		s.mu.Lock()
		s.opened = append(s.opened, time.Now())
		s.mu.Unlock()
		return &sinkSession{linkBase: linkBase, onMail: onMail, sink: s}, nil
	}))
	srv.Domain = "bench.local"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 4 << 20
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Received is the number of messages accepted so far.
func (s *MailSink) Received() int64 { return s.received.Load() }

// Distinct is the number of distinct Message-IDs accepted so far (a mail
// without one counts as distinct): Received minus Distinct mails were
// sent again.
func (s *MailSink) Distinct() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.ids))
}

// seen counts a message under its Message-ID.
func (s *MailSink) seen(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		id = "\x00" + strconv.Itoa(len(s.ids))
	}
	s.ids[id]++
}

// Close stops the server.
func (s *MailSink) Close() { _ = s.srv.Close() }

type sinkSession struct {
	sink     *MailSink
	linkBase string
	onMail   func(Mail)
	to       []string
}

func (x *sinkSession) Mail(string, *gosmtp.MailOptions) error { return nil }

func (x *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	x.to = append(x.to, strings.ToLower(to))
	return nil
}

func (x *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Mail{At: time.Now(), To: x.to}
	x.sink.received.Add(1)
	m.Subject, m.Text, m.MessageID = parseMail(data)
	x.sink.seen(m.MessageID)
	m.Link = confirmLink(m.Text, x.linkBase)
	if x.onMail != nil {
		x.onMail(m)
	}
	return nil
}

func (x *sinkSession) Reset() { x.to = nil }

func (x *sinkSession) Logout() error { return nil }

var urlRe = regexp.MustCompile(`https?://[^\s"'<>]+`)

// confirmLink picks the confirmation link among the URLs of a mail: one
// under linkBase with a token that is not the dispute link, preferring a
// /confirm path.
func confirmLink(text, linkBase string) string {
	linkBase = strings.TrimRight(linkBase, "/")
	var fallback string
	for _, u := range urlRe.FindAllString(text, -1) {
		u = strings.TrimRight(u, ".,)")
		if !strings.HasPrefix(u, linkBase) || strings.Contains(u, "dispute") || !strings.Contains(u, "token=") {
			continue
		}
		if strings.Contains(u, "/confirm") {
			return u
		}
		if fallback == "" {
			fallback = u
		}
	}
	return fallback
}

// parseMail returns the decoded subject, the text (plain and HTML parts)
// and the Message-ID.
func parseMail(data []byte) (subject, text, messageID string) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", string(data), ""
	}
	messageID = strings.TrimSpace(m.Header.Get("Message-Id"))
	subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	var b strings.Builder
	walkPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &b)
	return subject, b.String(), messageID
}

func walkPart(contentType, encoding string, body io.Reader, out *strings.Builder) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out)
		}
	}
	if !strings.HasPrefix(mt, "text/") {
		return
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips CR and LF itself
	}
	data, _ := io.ReadAll(body)
	out.Write(data)
	out.WriteString("\n")
}
