// Package page is how every list API pages: a page ends with an opaque
// cursor, next, naming the position of its last item; the caller sends it
// back as the query parameter after to get the page that follows. A cursor
// is the base64url (unpadded) of the position as JSON, read back strictly:
// a cursor this service did not issue is a 422 at query.after, never a 500
// nor a silently different page.
package page

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// Encode renders pos, a position struct, as a cursor.
func Encode(pos any) string {
	b, err := json.Marshal(pos)
	if err != nil { // a position is plain fields: a programming error
		panic("page: encode cursor: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a cursor made by Encode into pos (a pointer): false when it
// is not base64url, not one JSON object of pos's members, or has more after
// it. The caller checks that the members make a position.
func Decode(cursor string, pos any) bool {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(pos); err != nil {
		return false
	}
	_, err = dec.Token()
	return err == io.EOF
}

// InvalidAfter is the answer to an after that is not a cursor this service
// issued: code is the service's (its problem code and the field's).
func InvalidAfter(code string) *apperr.Error {
	return apperr.Invalid(code, "after must be the next cursor of a previous page",
		apperr.FieldError{Field: "query.after", Code: code, Message: "not a cursor this service issued"})
}

// Position is the place in a list ordered by a time, then an id (newest or
// oldest first, as the list is): most lists' cursor.
type Position struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// Cursor renders p, its time to the microsecond as Postgres keeps it (a
// finer time would fall between two rows).
func (p Position) Cursor() string {
	p.At = p.At.Truncate(time.Microsecond)
	return Encode(p)
}

// After reads a list's after: nil for "" (the first page), a Position
// made by Cursor, or InvalidAfter(code).
func After(after, code string) (*Position, error) {
	if after == "" {
		return nil, nil
	}
	var p Position
	if !Decode(after, &p) || p.At.IsZero() || p.ID == "" {
		return nil, InvalidAfter(code)
	}
	return &p, nil
}
