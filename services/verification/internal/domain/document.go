package domain

import (
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// DocumentStatus is the fate of submitted document metadata.
type DocumentStatus string

// Document statuses.
const (
	DocumentUnderReview DocumentStatus = "under_review"
	DocumentRejected    DocumentStatus = "rejected" // the review it went to ended with a reason
	DocumentApproved    DocumentStatus = "approved" // the check passed on it
)

// DocumentInput is document metadata as an upstream system submits it; the
// bytes live in object storage at StorageURI.
type DocumentInput struct {
	Check       CheckKind    `json:"check"`
	Type        DocumentType `json:"type"`
	IssuedOn    string       `json:"issued_on"` // YYYY-MM-DD
	SHA256      string       `json:"sha256"`
	SizeBytes   int64        `json:"size_bytes"`
	MediaType   string       `json:"media_type"`
	StorageURI  string       `json:"storage_uri"`
	SubmittedBy string       `json:"submitted_by,omitempty"`
}

// Document is accepted document metadata with its review fate.
type Document struct {
	ID          string         `json:"id"`
	Check       CheckKind      `json:"check"`
	Type        DocumentType   `json:"type"`
	IssuedOn    string         `json:"issued_on"`
	SHA256      string         `json:"sha256"`
	SizeBytes   int64          `json:"size_bytes"`
	MediaType   string         `json:"media_type"`
	StorageURI  string         `json:"storage_uri"`
	SubmittedBy string         `json:"submitted_by,omitempty"`
	SubmittedAt time.Time      `json:"submitted_at"`
	TaskID      string         `json:"task_id"`
	Status      DocumentStatus `json:"status"`
	RejectedFor ReasonCode     `json:"rejected_for,omitempty"`
}

// validate checks the shape of the metadata (not the case rules).
func (in DocumentInput) validate(p Policy, loc *time.Location, now time.Time) (time.Time, []FieldProblem) {
	var fs []FieldProblem
	add := func(field, code, msg string) { fs = append(fs, FieldProblem{field, code, msg}) }
	if !in.Check.Valid() {
		add("check", "check.unknown", "unknown check")
	}
	if _, ok := DocumentTypes[in.Type]; !ok {
		add("type", "document.type_unknown", "unknown document type")
	}
	issued, err := time.ParseInLocation(time.DateOnly, in.IssuedOn, loc)
	switch {
	case err != nil:
		add("issued_on", "document.issued_on_invalid", "issue date must be YYYY-MM-DD")
	case issued.After(now):
		add("issued_on", "document.issued_in_future", "issue date lies in the future")
	}
	if b, err := hex.DecodeString(in.SHA256); err != nil || len(b) != 32 {
		add("sha256", "document.sha256_invalid", "sha256 must be 64 hex digits")
	}
	if in.SizeBytes <= 0 || in.SizeBytes > p.MaxDocumentBytes {
		add("size_bytes", "document.size_out_of_range", "size must be between 1 byte and the maximum")
	}
	if !slices.Contains(p.MediaTypes, strings.ToLower(in.MediaType)) {
		add("media_type", "document.media_type_not_accepted", "accepted media types: "+strings.Join(p.MediaTypes, ", "))
	}
	if p, bad := normalize.CheckText(in.StorageURI); bad {
		add("storage_uri", "document.storage_uri_invalid", "storage URI must not contain a control, invisible or bidirectional-control character ("+p.String()+")")
	} else if u, err := url.Parse(in.StorageURI); err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		add("storage_uri", "document.storage_uri_invalid", "storage URI must be absolute, e.g. s3://bucket/key")
	}
	return issued, fs
}

// OldestAcceptedIssueDate is the earliest issue date a company document may
// carry when submitted at now (the same day, MaxCompanyDocumentAgeMonths ago).
func OldestAcceptedIssueDate(p Policy, loc *time.Location, now time.Time) time.Time {
	l := now.In(loc)
	return time.Date(l.Year(), l.Month()-time.Month(p.MaxCompanyDocumentAgeMonths), l.Day(), 0, 0, 0, 0, loc)
}

// SubmitDocument accepts document metadata for a check that awaits
// documents: the type must cure the open reason, company documents must be
// recent, a file rejected before is refused with the earlier reason, and each
// accepted document uses one appeal. The check goes back to review with a
// new task. Resubmitting a file already under review is a no-op (replay).
func (c *Case) SubmitDocument(in DocumentInput, now time.Time, r Rules) (doc Document, replay bool, err error) {
	loc := r.Calendar.Location
	if loc == nil {
		loc = time.UTC
	}
	in.SHA256 = strings.ToLower(strings.TrimSpace(in.SHA256))
	issued, fs := in.validate(r.Policy, loc, now)
	if len(fs) > 0 {
		return Document{}, false, invalid(ErrInvalidDocument, fs)
	}
	for _, d := range c.Documents {
		if d.SHA256 != in.SHA256 {
			continue
		}
		switch {
		case d.Status == DocumentRejected:
			return Document{}, false, violation(ErrDocumentRejected, "this file was rejected before for "+string(d.RejectedFor),
				"document_id", d.ID, "rejected_for", d.RejectedFor, "check", d.Check)
		case d.Check == in.Check && d.Type == in.Type && d.Status == DocumentUnderReview:
			return *d, true, nil
		default:
			return Document{}, false, violation(ErrDocumentDuplicate, "this file was already submitted as document "+d.ID, "document_id", d.ID)
		}
	}
	if c.Closed() {
		return Document{}, false, violation(ErrCaseClosed, "case "+c.ID+" is "+string(c.Status), "status", c.Status)
	}
	ck := c.Check(in.Check)
	if !ck.awaitsDocuments() {
		return Document{}, false, violation(ErrNoDocumentsDue, "the "+string(ck.Kind)+" check is "+string(ck.State)+" and awaits no documents",
			"check", ck.Kind, "state", ck.State)
	}
	if ck.AppealsRemaining(r.Policy) == 0 {
		return Document{}, false, violation(ErrAppealsExhausted, "", "check", ck.Kind, "appeal_limit", r.Policy.AppealLimit)
	}
	if !slices.Contains(ck.AcceptedDocuments, in.Type) {
		return Document{}, false, violation(ErrDocumentTypeNotAccepted,
			"a "+string(in.Type)+" does not cure "+string(ck.Reason)+"; accepted: "+joinTypes(ck.AcceptedDocuments),
			"reason", ck.Reason, "accepted_documents", slices.Clone(ck.AcceptedDocuments))
	}
	if DocumentTypes[in.Type].CompanyDocument {
		if oldest := OldestAcceptedIssueDate(r.Policy, loc, now); issued.Before(oldest) {
			return Document{}, false, violation(ErrDocumentTooOld,
				"issued on "+in.IssuedOn+"; company documents must be issued on or after "+oldest.Format(time.DateOnly),
				"issued_on", in.IssuedOn, "oldest_accepted", oldest.Format(time.DateOnly), "max_age_months", r.Policy.MaxCompanyDocumentAgeMonths)
		}
	}

	respondsTo := ck.Reason
	ck.AppealsUsed++
	if err := c.transition(ck, StateInReview, respondsTo, "", now, nil); err != nil {
		return Document{}, false, err
	}
	taskID := c.nextID("t")
	d := &Document{ID: c.nextID("d"), TaskID: taskID, Check: in.Check, Type: in.Type, IssuedOn: in.IssuedOn,
		SHA256: in.SHA256, SizeBytes: in.SizeBytes, MediaType: strings.ToLower(in.MediaType), StorageURI: in.StorageURI,
		SubmittedBy: in.SubmittedBy, SubmittedAt: now, Status: DocumentUnderReview}
	c.Documents = append(c.Documents, d)
	c.record(DocumentAccepted{EventMeta: c.meta(now), DocumentID: d.ID, Check: d.Check, Type: d.Type, SHA256: d.SHA256,
		AppealsRemaining: ck.AppealsRemaining(r.Policy)})
	c.createTask(ck, taskID, respondsTo, now, r)
	c.settle(now, r)
	return *d, false, nil
}

func joinTypes(ts []DocumentType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
