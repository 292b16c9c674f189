// Package http serves the e-mail ownership routes: the public link pages
// (confirm, dispute), the public resend by address, and the authenticated
// JSON API (confirm by code, resend by enrollment, status).
package http

import (
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// Guard is what the routes need from the platform guard.
type Guard interface {
	Protect(http.Handler) http.Handler
}

// Limiter rate-limits anonymous writes (per client address).
type Limiter interface {
	Middleware(http.Handler) http.Handler
}

// Handler builds the routes.
func Handler(a *app.App, g Guard, l Limiter) http.Handler {
	return httpx.NewMux(Routes(a, g, l), g.Protect)
}

// Routes lists the API: the link pages and resend by address are public
// (the token, or the typed address, is the only credential), the rest is
// protected by g.
func Routes(a *app.App, g Guard, l Limiter) []httpx.Route {
	h := &handlers{app: a}
	// Resend: by enrollment with a bearer token, by address without one.
	protectedResend := g.Protect(http.HandlerFunc(h.resend))
	publicResend := l.Middleware(http.HandlerFunc(h.resend))
	resend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			protectedResend.ServeHTTP(w, r)
			return
		}
		publicResend.ServeHTTP(w, r)
	})
	return []httpx.Route{
		{Method: "GET", Pattern: "/confirm", Handler: http.HandlerFunc(h.confirmPage), Public: true},
		{Method: "POST", Pattern: "/confirm", Handler: http.HandlerFunc(h.confirmLink), Public: true},
		{Method: "GET", Pattern: "/dispute", Handler: http.HandlerFunc(h.disputePage), Public: true},
		{Method: "POST", Pattern: "/dispute", Handler: l.Middleware(http.HandlerFunc(h.dispute)), Public: true},
		{Method: "POST", Pattern: "/v1/resend", Handler: resend, Public: true},
		{Method: "POST", Pattern: "/v1/enrollments/{id}/confirm-code", Handler: http.HandlerFunc(h.confirmCode)},
		{Method: "GET", Pattern: "/v1/enrollments/{id}/ownership", Handler: http.HandlerFunc(h.status)},
		httpx.OpenAPIRoute(OpenAPI),
	}
}

type handlers struct{ app *app.App }

// confirmPage is the link in the mail. It only shows the address and a
// button: mail-security scanners, link previews and browsers' prefetchers
// open links (GET, HEAD) without a person, so opening one confirms nothing.
func (h *handlers) confirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	prev, err := h.app.PreviewLink(r.Context(), tok)
	if err != nil {
		writeOutcome(w, r, err)
		return
	}
	if prev.Confirmed {
		writePage(w, pageConfirmed, prev.Language)
		return
	}
	p := pageConfirmAsk
	p.Detail = prev.Address
	p.Form = &httpx.PageForm{Action: "confirm", Fields: []httpx.PageField{{Name: "token", Value: tok}}, LabelJA: "メールアドレスを確認する", LabelEN: "Confirm my e-mail address"}
	writePage(w, p, prev.Language)
}

// confirmLink is the button's POST: the token travels in the form body (the
// only credential; no cookie, so there is no session to forge a request
// for), and only this request confirms.
func (h *handlers) confirmLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		writePage(w, pageUnknown, "")
		return
	}
	res, err := h.app.ConfirmByLink(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		writeOutcome(w, r, err)
		return
	}
	writePage(w, pageConfirmed, res.Language)
}

func (h *handlers) disputePage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if _, err := domain.ParseToken(tok); err != nil {
		writePage(w, pageUnknown, "")
		return
	}
	// Showing the form changes nothing: mail scanners that follow links
	// must not file disputes.
	p := pageDisputeAsk
	p.Form = &httpx.PageForm{Action: "dispute", Fields: []httpx.PageField{{Name: "token", Value: tok}}, LabelJA: "報告する", LabelEN: "Report"}
	writePage(w, p, "")
}

func (h *handlers) dispute(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		writePage(w, pageUnknown, "")
		return
	}
	if err := h.app.Dispute(r.Context(), r.PostForm.Get("token")); err != nil {
		writeOutcome(w, r, err)
		return
	}
	writePage(w, pageDisputed, "")
}

// writeOutcome shows the page of a failed link: one of the bilingual
// outcomes, or the service's own failure as a page (httpx.WritePageError:
// 503 while the database is out of reach, 500).
func writeOutcome(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := apperr.As(err)
	if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindUnavailable {
		httpx.WritePageError(w, r, err, false)
		return
	}
	switch ae.Code {
	case app.CodeChallengeExpired:
		writePage(w, pageExpired, "")
	case app.CodeChallengeUsed, app.CodeChallengeSuperseded:
		writePage(w, pageUsed, "")
	case app.CodeChallengeLocked:
		writePage(w, pageLocked, "")
	case app.CodeChallengeCancelled, app.CodeNotInGoodStanding:
		writePage(w, pageOnHold, "")
	case app.CodeAddressRemoved:
		writePage(w, pageRemoved, "")
	case app.CodeChallengeWithdrawn:
		writePage(w, pageWithdrawn, "")
	case app.CodeContactChanged:
		writePage(w, pageContactChanged, "")
	default: // unknown, malformed
		writePage(w, pageUnknown, "")
	}
}

type confirmCodeRequest struct {
	Code string `json:"code"`
}

type confirmResponse struct {
	EnrollmentID string    `json:"enrollment_id"`
	State        string    `json:"state"`
	ConfirmedAt  time.Time `json:"confirmed_at"`
}

func (h *handlers) confirmCode(w http.ResponseWriter, r *http.Request) {
	var req confirmCodeRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	id, err := pathEnrollment(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	res, err := h.app.ConfirmByCode(r.Context(), p, app.ConfirmByCodeCommand{EnrollmentID: id, Code: req.Code})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, confirmResponse{EnrollmentID: res.EnrollmentID, State: string(domain.StateConfirmed), ConfirmedAt: res.ConfirmedAt})
}

type resendRequest struct {
	EnrollmentID string `json:"enrollment_id,omitempty"`
	Email        string `json:"email,omitempty"`
}

type resendResponse struct {
	RetryAfter    int       `json:"retry_after"` // seconds until the next resend is accepted
	NextAllowedAt time.Time `json:"next_allowed_at"`
}

// resend answers 202 with the same body whether or not the target exists;
// a throttled call answers 429 with retry_after.
func (h *handlers) resend(w http.ResponseWriter, r *http.Request) {
	var req resendRequest
	if _, err := httpx.DecodeJSON(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	if strings.TrimSpace(req.EnrollmentID) != "" && p.IsZero() {
		httpx.WriteError(w, r, apperr.New(apperr.KindUnauthenticated, "auth.unauthenticated", "resend by enrollment needs a bearer token"))
		return
	}
	if strings.TrimSpace(req.EnrollmentID) != "" {
		id, err := ids.Read(req.EnrollmentID, "enrollment_id", app.CodeInvalidEnrollmentID, ids.Enrollment)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		req.EnrollmentID = id
	}
	res, err := h.app.Resend(r.Context(), p, app.ResendCommand{EnrollmentID: req.EnrollmentID, Email: req.Email})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, resendResponse{
		RetryAfter:    int(math.Ceil(time.Until(res.NextAllowedAt).Seconds())),
		NextAllowedAt: res.NextAllowedAt.UTC(),
	})
}

type statusResponse struct {
	EnrollmentID   string     `json:"enrollment_id"`
	PartnerID      string     `json:"partner_id"`
	Program        string     `json:"program"`
	State          string     `json:"state"`
	Address        string     `json:"address"`
	OpenedAt       time.Time  `json:"opened_at"`
	ExpiresAt      time.Time  `json:"expires_at"`
	ConfirmedAt    *time.Time `json:"confirmed_at,omitempty"`
	DisputedAt     *time.Time `json:"disputed_at,omitempty"`
	LockedAt       *time.Time `json:"locked_at,omitempty"`
	ExpiredAt      *time.Time `json:"expired_at,omitempty"`
	WrongCodesLeft int        `json:"wrong_codes_left"`
	DisputeOpen    bool       `json:"dispute_open"`
	NextResendAt   time.Time  `json:"next_resend_at"`
	// MailFailure: the notifier gave the confirmation mail up.
	MailFailure *mailFailureResponse `json:"mail_failure,omitempty"`
	// ProfileChange: the challenge proves a profile change's new address.
	ProfileChange int `json:"profile_change,omitempty"`
	// StandingConfirmation: the confirmation that stays the enrollment's
	// while the current challenge has not confirmed.
	StandingConfirmation *standingResponse `json:"standing_confirmation,omitempty"`
}

type standingResponse struct {
	Address     string    `json:"address"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

type mailFailureResponse struct {
	Reason   string    `json:"reason"`
	Detail   string    `json:"detail,omitempty"`
	FailedAt time.Time `json:"failed_at"`
}

func (h *handlers) status(w http.ResponseWriter, r *http.Request) {
	id, err := pathEnrollment(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	s, err := h.app.Status(r.Context(), p, id)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	state := s.State
	if state == domain.StateSuperseded { // never the current challenge; defensive
		state = domain.StatePending
	}
	out := statusResponse{
		EnrollmentID: s.EnrollmentID, PartnerID: s.PartnerID, Program: s.Program, State: string(state),
		Address: s.Address, OpenedAt: s.OpenedAt, ExpiresAt: s.ExpiresAt, ConfirmedAt: opt(s.ConfirmedAt),
		DisputedAt: opt(s.DisputedAt), LockedAt: opt(s.LockedAt), ExpiredAt: opt(s.ExpiredAt),
		WrongCodesLeft: s.WrongCodesLeft, DisputeOpen: s.DisputeOpen, NextResendAt: s.NextResendAt.UTC(),
	}
	if f := s.MailFailure; f != nil {
		out.MailFailure = &mailFailureResponse{Reason: f.Reason, Detail: f.Detail, FailedAt: f.At.UTC()}
	}
	out.ProfileChange = s.ProfileChange
	if c := s.Standing; c != nil {
		out.StandingConfirmation = &standingResponse{Address: c.Address, ConfirmedAt: c.ConfirmedAt.UTC()}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// pathEnrollment reads the {id} of an enrollment's route as every service
// reads the identifiers registration issues (pkg/ids): in its canonical
// form, or a 422 that says what was expected.
func pathEnrollment(r *http.Request) (string, error) {
	return ids.Read(r.PathValue("id"), "path.id", app.CodeInvalidEnrollmentID, ids.Enrollment)
}
