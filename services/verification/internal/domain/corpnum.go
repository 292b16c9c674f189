package domain

// CorporateNumberCheckDigit computes the check digit of a Japanese corporate
// number from its 12-digit base: 9 − (Σ P_n·Q_n mod 9), P_n the n-th digit
// from the right, Q_n = 1 for odd n and 2 for even n. ok is false unless base
// is exactly 12 ASCII digits.
func CorporateNumberCheckDigit(base string) (digit int, ok bool) {
	if len(base) != 12 {
		return 0, false
	}
	sum := 0
	for n := 1; n <= 12; n++ {
		c := base[12-n]
		if c < '0' || c > '9' {
			return 0, false
		}
		q := 1
		if n%2 == 0 {
			q = 2
		}
		sum += int(c-'0') * q
	}
	return 9 - sum%9, true
}

// ValidCorporateNumber reports whether s is a 13-digit corporate number whose
// first digit is the check digit of the other twelve.
func ValidCorporateNumber(s string) bool {
	if len(s) != 13 || s[0] < '0' || s[0] > '9' {
		return false
	}
	d, ok := CorporateNumberCheckDigit(s[1:])
	return ok && int(s[0]-'0') == d
}
