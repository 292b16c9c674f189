package domain

import (
	"slices"
	"strings"
)

// AddEnrollment records a program a registered partner added after its
// registration (registration.enrollment.added): the program joins the
// projection with its enrollment, so that its agreement can be accepted like
// one of the registration's. Market and location stay; a program that
// already has an enrollment here keeps it (this projection holds one per
// program, the registered location's). It reports whether anything changed.
func (p *Partner) AddEnrollment(program, enrollmentID string) (bool, error) {
	pr, err := ParseProgram(program)
	if err != nil {
		return false, &ValidationError{Problems: []Problem{{Field: "program", Err: ErrInvalidProgram}}}
	}
	changed := false
	if !slices.Contains(p.s.Programs, pr) {
		p.s.Programs = append(p.s.Programs, pr)
		slices.Sort(p.s.Programs)
		changed = true
	}
	if id := strings.TrimSpace(enrollmentID); id != "" && p.s.Enrollments[pr] == "" {
		p.s.Enrollments[pr] = id
		changed = true
	}
	return changed, nil
}
