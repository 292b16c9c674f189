package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/egress"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// ContentType is the body's: a CloudEvent in structured JSON mode.
const ContentType = "application/cloudevents+json"

// Sign is the webhook-signature value of a message: "v1," and the base64
// HMAC-SHA256 of "<id>.<timestamp>.<body>" under each key, separated by
// spaces (every key that is current during a rotation).
func Sign(msgID string, at time.Time, body []byte, keys [][]byte) string {
	prefix := msgID + "." + strconv.FormatInt(at.Unix(), 10) + "."
	sigs := make([]string, len(keys))
	for i, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(prefix))
		mac.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// Sender posts deliveries: one attempt each, with a timeout, no redirects
// followed (a 3xx is a failure), and, unless allowed (development), no
// connection to a loopback, private, link-local or other non-public
// address, whatever the URL's name resolves to.
type Sender struct {
	client *http.Client
}

// MaxResponse bounds the part of an answer kept in the delivery log.
const MaxResponse = 256

// NewSender returns a sender with a per-attempt timeout.
func NewSender(timeout time.Duration, allowPrivate bool) *Sender {
	return &Sender{client: &http.Client{
		Transport:     egress.Transport(timeout, allowPrivate),
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Send implements app.Sender.
func (s *Sender) Send(ctx context.Context, target, msgID string, at time.Time, body []byte, keys [][]byte) domain.Attempt {
	start := time.Now()
	a := domain.Attempt{At: at.UTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		a.Error = "invalid request: " + cause(err)
		return a
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "partnerhub-webhooks/1")
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(msgID, at, body, keys))
	res, err := s.client.Do(req)
	a.Duration = time.Since(start).Milliseconds()
	if err != nil {
		a.Error = cause(err)
		return a
	}
	defer res.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(res.Body, MaxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // reuse the connection
	a.Status, a.Response = res.StatusCode, normalize.Clip(string(head), MaxResponse)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		a.Error = "answered " + strconv.Itoa(res.StatusCode)
	}
	return a
}

// cause is an error without the request URL (its query may hold a token).
func cause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	return normalize.Clip(err.Error(), 300)
}
