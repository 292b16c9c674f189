package httpx

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Codes of malformed path and query parameters (422, like every other
// invalid input).
const (
	CodeInvalidPathParameter  = "request.invalid_path_parameter"
	CodeInvalidQueryParameter = apperr.CodeInvalidQueryParameter
)

// MaxParam is the longest path or query parameter value accepted, in bytes.
const MaxParam = 256

// checkParams validates, once for every route, the path parameters of its
// pattern (and, on a protected route, every query parameter): valid UTF-8,
// no control, invisible or bidi-control character, at most MaxParam bytes.
// Without it an id with a NUL byte or invalid UTF-8 reached Postgres, which
// refused it, and the caller got a 500. When declared is not nil (the query
// parameters the service's OpenAPI document gives the operation), a
// protected route refuses any other query parameter (query.unknown_parameter):
// a misspelt filter (?stauts=open, ?partner_id= on a list that has no such
// filter) was ignored, and the caller read an unfiltered list as the
// filtered one. Likewise a parameter given more than once that the document
// does not declare an array (query.repeated_parameter): ?status=failed&
// status=pending read the first and answered a list of failed ones only.
// Public pages (e-mail links) keep ignoring what mail clients and trackers
// add.
func checkParams(r Route, declared []QueryParameter, next http.Handler) http.Handler {
	names := wildcards(r.Pattern)
	if len(names) == 0 && r.Public {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var fields []apperr.FieldError
		for _, n := range names {
			if fe, bad := checkParam("path."+n, req.PathValue(n)); bad {
				fields = append(fields, fe)
			}
		}
		if len(fields) > 0 {
			WriteError(w, req, apperr.Invalid(CodeInvalidPathParameter, "a path parameter is malformed", fields...))
			return
		}
		if !r.Public {
			q := req.URL.Query()
			keys := make([]string, 0, len(q))
			for k := range q {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				field := "query." + strings.ToValidUTF8(k, "\uFFFD")
				if fe, bad := checkParam(field, k); bad {
					fields = append(fields, fe)
					continue
				}
				if declared != nil {
					i := slices.IndexFunc(declared, func(p QueryParameter) bool { return p.Name == k })
					if i < 0 {
						fields = append(fields, unknownParam(field, declared))
						continue
					}
					if n := len(q[k]); n > 1 && !declared[i].Many {
						fields = append(fields, apperr.FieldError{Field: field, Code: CodeRepeatedQueryParameter,
							Message: fmt.Sprintf("given %d times; this operation takes one value", n)})
						continue
					}
				}
				for _, v := range q[k] {
					if fe, bad := checkParam(field, v); bad {
						fields = append(fields, fe)
						break
					}
				}
			}
			if len(fields) > 0 {
				detail := "a query parameter is malformed"
				only := func(code string) bool {
					return !slices.ContainsFunc(fields, func(f apperr.FieldError) bool { return f.Code != code })
				}
				switch {
				case only(CodeUnknownQueryParameter):
					detail = "this operation does not take that query parameter"
				case only(CodeRepeatedQueryParameter):
					detail = "a query parameter is given more than once"
				}
				WriteError(w, req, apperr.Invalid(CodeInvalidQueryParameter, detail, fields...))
				return
			}
		}
		next.ServeHTTP(w, req)
	})
}

// CodeUnknownQueryParameter is the field code of a query parameter the
// operation does not take.
const CodeUnknownQueryParameter = "query.unknown_parameter"

// CodeRepeatedQueryParameter is the field code of a query parameter given
// more than once that the operation takes once.
const CodeRepeatedQueryParameter = "query.repeated_parameter"

func unknownParam(field string, declared []QueryParameter) apperr.FieldError {
	msg := "this operation takes no query parameter"
	if len(declared) > 0 {
		sorted := make([]string, len(declared))
		for i, p := range declared {
			sorted[i] = p.Name
		}
		slices.Sort(sorted)
		msg = "not a query parameter of this operation; it takes " + strings.Join(sorted, ", ")
	}
	return apperr.FieldError{Field: field, Code: CodeUnknownQueryParameter, Message: msg}
}

func checkParam(field, v string) (apperr.FieldError, bool) {
	switch {
	case !utf8.ValidString(v):
		return apperr.FieldError{Field: field, Code: "field.invalid_encoding", Message: "must be valid UTF-8"}, true
	case len(v) > MaxParam:
		return apperr.FieldError{Field: field, Code: "field.too_long", Message: fmt.Sprintf("must be at most %d bytes", MaxParam)}, true
	}
	if p, bad := normalize.CheckText(v); bad {
		return apperr.FieldError{Field: field, Code: "field.invalid_characters",
			Message: fmt.Sprintf("must not contain control, invisible or bidi-control characters (%s)", p)}, true
	}
	return apperr.FieldError{}, false
}

// wildcards lists the names of a ServeMux pattern's wildcards ("{id}",
// "{rest...}").
func wildcards(pattern string) []string {
	var out []string
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.Trim(seg, "{}"), "...")
			if name != "$" && name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}
