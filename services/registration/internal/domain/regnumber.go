package domain

import "strings"

// RegistrationScheme names the register a registration number comes from.
type RegistrationScheme string

// Supported registration number schemes.
const (
	SchemeJPCorporateNumber RegistrationScheme = "jp_corporate_number" // 法人番号: 13 digits, leading check digit
	SchemeDUNS              RegistrationScheme = "duns"                // D-U-N-S: 9 digits
)

// RegistrationNumber is a normalized registration number (digits only).
type RegistrationNumber struct {
	Scheme RegistrationScheme `json:"scheme"`
	Value  string             `json:"value"`
}

// JPCorporateNumberValid checks a 13-digit Japanese corporate number: the
// first digit is 9 − (Σ Pn×Qn mod 9) over the other twelve digits, Pn counted
// from the right and Qn = 1 for odd n, 2 for even n (National Tax Agency rule).
func JPCorporateNumberValid(digits string) bool {
	if len(digits) != 13 || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	sum := 0
	for n := 1; n <= 12; n++ {
		p := int(digits[13-n] - '0')
		q := 1
		if n%2 == 0 {
			q = 2
		}
		sum += p * q
	}
	return int(digits[0]-'0') == 9-sum%9
}
