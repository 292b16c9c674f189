package e2e

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// smtpServer is the real SMTP server the notifier sends to in the
// end-to-end run (github.com/emersion/go-smtp, plain, no auth): each
// accepted message is written whole to <dir>/<time>-<n>.eml, where the
// harness and the demo read them as a mail client would.
type smtpServer struct {
	Host string
	Port int

	dir string
	srv *gosmtp.Server
	mu  sync.Mutex
	n   int
}

func startSMTP(dir string) (*smtpServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &smtpServer{dir: dir, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	s.srv = gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &smtpSession{s: s}, nil }))
	s.srv.Domain = "e2e.mail.local"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.EnableSMTPUTF8 = true
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *smtpServer) close() { _ = s.srv.Close() }

// Addr is host:port.
func (s *smtpServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

type smtpSession struct {
	s  *smtpServer
	to []string
}

func (x *smtpSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (x *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *smtpSession) Reset()        { x.to = nil }
func (x *smtpSession) Logout() error { return nil }

// Data writes the message under a temporary name and renames it, so a
// reader never sees half a mail.
func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.n++
	n := x.s.n
	x.s.mu.Unlock()
	name := fmt.Sprintf("%s-%05d.eml", time.Now().UTC().Format("20060102T150405.000000"), n)
	tmp := filepath.Join(x.s.dir, name+".part") // not *.eml until whole
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(x.s.dir, name))
}
