package domain

import "slices"

// DocumentType names a kind of document an applicant can upload.
type DocumentType string

// Document types the service knows.
const (
	DocCompanyRegisterCertificate DocumentType = "company_register_certificate" // 登記事項証明書 (certified copy of the register)
	DocDomainInvoice              DocumentType = "domain_invoice"               // an invoice addressed to the company that shows the domain
	DocDomainPurchaseProof        DocumentType = "domain_purchase_proof"        // proof of the domain purchase
	DocEmploymentCertificate      DocumentType = "employment_certificate"       // 在籍証明書 issued by the company
)

// DocumentTypeInfo describes a document type for applicants and verifiers.
type DocumentTypeInfo struct {
	Type        DocumentType `json:"type"`
	Description string       `json:"description"`
	// CompanyDocument documents must be recent (Policy.MaxCompanyDocumentAge).
	CompanyDocument bool `json:"company_document"`
}

// DocumentTypes is the document type catalog.
var DocumentTypes = map[DocumentType]DocumentTypeInfo{
	DocCompanyRegisterCertificate: {DocCompanyRegisterCertificate, "Certified copy of the company register (登記事項証明書)", true},
	DocDomainInvoice:              {DocDomainInvoice, "Invoice addressed to the company that shows the domain", false},
	DocDomainPurchaseProof:        {DocDomainPurchaseProof, "Proof of purchase of the domain by the company", false},
	DocEmploymentCertificate:      {DocEmploymentCertificate, "Certificate of employment of the contact, issued by the company", true},
}

// ReasonCode is a stable code from the reason catalog.
type ReasonCode string

// Reason codes of the catalog.
const (
	ReasonCompanyNameMismatch        ReasonCode = "company_name_mismatch"
	ReasonAddressMismatch            ReasonCode = "address_mismatch"
	ReasonRegistrationNumberMismatch ReasonCode = "registration_number_mismatch"
	ReasonCompanyNotFound            ReasonCode = "company_not_found"
	ReasonDocumentExpired            ReasonCode = "document_expired"
	ReasonDocumentIllegible          ReasonCode = "document_illegible"
	ReasonDomainNotOwned             ReasonCode = "domain_not_owned"
	ReasonEmailDomainMismatch        ReasonCode = "email_domain_mismatch"
	ReasonEmailDomainUnverified      ReasonCode = "email_domain_unverified"
	ReasonContactNotEmployed         ReasonCode = "contact_not_employed"
	ReasonFraudSuspected             ReasonCode = "fraud_suspected"
)

// Reason is one catalog entry: what it means and, per check, the document
// types that cure it (none: the reason can only end in a FINAL rejection).
type Reason struct {
	Code          ReasonCode                   `json:"code"`
	Description   string                       `json:"description"`
	ApplicantHint string                       `json:"applicant_hint"`
	CuresFor      map[CheckKind][]DocumentType `json:"cures_for"`
	AllowedChecks []CheckKind                  `json:"allowed_checks"`
}

var companyCure = []DocumentType{DocCompanyRegisterCertificate}
var domainCure = []DocumentType{DocDomainInvoice, DocDomainPurchaseProof}

// Reasons is the reason catalog verifiers choose from.
var Reasons = map[ReasonCode]Reason{
	ReasonCompanyNameMismatch: {ReasonCompanyNameMismatch, "The legal name differs from the company register",
		"Upload a certified copy of the company register issued within the last 12 months; the name must be written exactly as there.",
		map[CheckKind][]DocumentType{CheckCompany: companyCure}, []CheckKind{CheckCompany}},
	ReasonAddressMismatch: {ReasonAddressMismatch, "The address differs from the company register",
		"Upload a certified copy of the company register issued within the last 12 months.",
		map[CheckKind][]DocumentType{CheckCompany: companyCure}, []CheckKind{CheckCompany}},
	ReasonRegistrationNumberMismatch: {ReasonRegistrationNumberMismatch, "The registration (corporate) number does not belong to the company",
		"Upload a certified copy of the company register showing the corporate number.",
		map[CheckKind][]DocumentType{CheckCompany: companyCure}, []CheckKind{CheckCompany}},
	ReasonCompanyNotFound: {ReasonCompanyNotFound, "The company is not in the register",
		"Upload a certified copy of the company register issued within the last 12 months.",
		map[CheckKind][]DocumentType{CheckCompany: companyCure}, []CheckKind{CheckCompany}},
	ReasonDocumentExpired: {ReasonDocumentExpired, "The document is too old or no longer valid",
		"Upload a current document.",
		map[CheckKind][]DocumentType{CheckCompany: companyCure, CheckEmployment: append(slices.Clone(domainCure), DocEmploymentCertificate)},
		[]CheckKind{CheckCompany, CheckEmployment}},
	ReasonDocumentIllegible: {ReasonDocumentIllegible, "The document cannot be read",
		"Upload a clear, complete scan of the document.",
		map[CheckKind][]DocumentType{CheckCompany: companyCure, CheckEmployment: append(slices.Clone(domainCure), DocEmploymentCertificate)},
		[]CheckKind{CheckCompany, CheckEmployment}},
	ReasonDomainNotOwned: {ReasonDomainNotOwned, "The company does not appear to own the contact e-mail's domain",
		"Upload an invoice addressed to the company that shows the domain, or a proof of the domain purchase.",
		map[CheckKind][]DocumentType{CheckEmployment: domainCure}, []CheckKind{CheckEmployment}},
	ReasonEmailDomainMismatch: {ReasonEmailDomainMismatch, "The contact e-mail's domain is not the company website's domain",
		"Publish the verification token on the e-mail domain (a DNS TXT record or the well-known URL) and ask for the check, or upload an invoice addressed to the company that shows the domain, or a proof of the domain purchase.",
		map[CheckKind][]DocumentType{CheckEmployment: domainCure}, []CheckKind{CheckEmployment}},
	ReasonEmailDomainUnverified: {ReasonEmailDomainUnverified, "Nothing ties the contact e-mail's domain to the company yet (the register lists no such website)",
		"Publish the verification token on the domain (a DNS TXT record or the well-known URL) and ask for the check, or upload an invoice addressed to the company that shows the domain, or a proof of the domain purchase.",
		map[CheckKind][]DocumentType{CheckEmployment: domainCure}, []CheckKind{CheckEmployment}},
	ReasonContactNotEmployed: {ReasonContactNotEmployed, "The contact could not be confirmed as an employee",
		"Upload a certificate of employment issued by the company.",
		map[CheckKind][]DocumentType{CheckEmployment: {DocEmploymentCertificate}}, []CheckKind{CheckEmployment}},
	ReasonFraudSuspected: {ReasonFraudSuspected, "The application shows signs of fraud",
		"", nil, []CheckKind{CheckCompany, CheckEmployment}},
}

// LookupReason returns the catalog entry for code.
func LookupReason(code ReasonCode) (Reason, bool) {
	r, ok := Reasons[code]
	return r, ok
}

// Cures returns the document types that cure r on check k.
func (r Reason) Cures(k CheckKind) []DocumentType { return slices.Clone(r.CuresFor[k]) }

// AppliesTo reports whether a verifier may use r on check k.
func (r Reason) AppliesTo(k CheckKind) bool { return slices.Contains(r.AllowedChecks, k) }
