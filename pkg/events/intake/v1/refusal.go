package intakev1

// Refusal is what an intake that cannot be carried out is answered with:
// the HTTP status and problem the same request gets over HTTP. Both answers
// owed to intakes carry it, flattened into their data:
// registration.application.rejected.v1 and verification.decision.refused.v1.
type Refusal struct {
	Status int          `json:"status"` // the HTTP status the same request would get
	Code   string       `json:"code"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem with one field.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}
