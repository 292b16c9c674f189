package domain

import "slices"

// AddEnrollment records a program the partner added after its registration
// (registration.enrollment.added), so that its e-mail ownership
// confirmation finds it: like a reseller's re-confirmation it gates only
// that enrollment, not the company's verification. It reports whether the
// case changed; a replay changes nothing.
func (c *Case) AddEnrollment(id string, program Program) bool {
	if id == "" || slices.ContainsFunc(c.Enrollments, func(e Enrollment) bool { return e.ID == id }) {
		return false
	}
	c.Enrollments = append(c.Enrollments, Enrollment{ID: id, Program: program})
	return true
}
