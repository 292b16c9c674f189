package domain

import (
	"strings"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Country is an ISO 3166-1 alpha-2 code in upper case, e.g. "JP".
type Country string

// iso3166 holds every officially assigned ISO 3166-1 alpha-2 code.
var iso3166 = func() map[Country]bool {
	const codes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
		"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
		"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
		"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
		"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
		"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
		"UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
	m := map[Country]bool{}
	for _, c := range strings.Fields(codes) {
		m[Country(c)] = true
	}
	return m
}()

// ParseCountry returns the country for an ISO 3166-1 alpha-2 code (any case,
// full-width accepted) and whether the code is assigned.
func ParseCountry(s string) (Country, bool) {
	c := Country(strings.ToUpper(normalize.Text(s)))
	return c, iso3166[c]
}

// Language is a preferred language for communication with the partner.
type Language string

// Supported languages.
const (
	LanguageJapanese Language = "ja"
	LanguageEnglish  Language = "en"
)

// DefaultLanguage is the language a market gets when the applicant names none.
func DefaultLanguage(c Country) Language {
	if c == "JP" {
		return LanguageJapanese
	}
	return LanguageEnglish
}
