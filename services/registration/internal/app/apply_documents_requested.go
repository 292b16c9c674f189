package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// DocumentsDue is what verification asks the applicant for on one check:
// one of the documents, or (employment) a proof that the company controls
// the e-mail domain, by DueAt.
type DocumentsDue struct {
	PartnerID         domain.PartnerID `json:"-"`
	Check             string           `json:"check"`
	Reason            string           `json:"reason"`
	ApplicantMessage  string           `json:"applicant_message,omitempty"`
	AcceptedDocuments []string         `json:"accepted_documents"`
	DomainProof       *DomainProof     `json:"domain_proof,omitempty"`
	AppealsRemaining  int              `json:"appeals_remaining"`
	DueAt             time.Time        `json:"due_at"`
	RequestedAt       time.Time        `json:"requested_at"`
}

// DomainProof is how to prove the e-mail domain instead of a document.
type DomainProof struct {
	Domain      string `json:"domain"`
	DNSTXTName  string `json:"dns_txt_name"`
	DNSTXTValue string `json:"dns_txt_value"`
	HTTPURL     string `json:"http_url"`
	HTTPBody    string `json:"http_body"`
}

// ApplyDocumentsRequested records verification's request for documents on
// a check, for the requirements view. Callers: the verification consumer
// or an operator.
func (a *App) ApplyDocumentsRequested(ctx context.Context, p auth.Principal, d DocumentsDue) error {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return err
	}
	id, err := parseID[domain.PartnerID]("partner_id", ids.Partner, string(d.PartnerID))
	if err != nil {
		return err
	}
	if strings.TrimSpace(d.Check) == "" {
		return apperr.Invalid(CodeInvalidInput, "a documents request names its check",
			apperr.FieldError{Field: "check", Code: domain.CodeRequired, Message: "is required"})
	}
	if _, err := a.repo.Get(ctx, id); err != nil {
		return translate(err, "documents requested for "+string(id))
	}
	d.PartnerID = id
	if d.AcceptedDocuments == nil {
		d.AcceptedDocuments = []string{}
	}
	return a.repo.SetDocumentsDue(ctx, d)
}
