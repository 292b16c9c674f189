package normalize

import "testing"

// Each group is one legal name spelled with look-alike characters, dashes,
// legal-form abbreviations or kana variants: every spelling must give the
// same key, or the same company registers twice.
func TestLegalNameKeyFoldsEachClassOfLookAlikes(t *testing.T) {
	groups := []struct {
		class string
		names []string
	}{
		{"long-vowel mark and its hyphen/minus look-alikes", []string{
			"株式会社サーバーテック", "株式会社サ－バ－テック", "株式会社サ‐バ‐テック", "株式会社サ−バ−テック",
			"株式会社サ-バ-テック", "株式会社サ—バ—テック", "株式会社サ―バ―テック", "株式会社サ─バ─テック",
			"株式会社サｰﾊﾞｰテック", "株式会社サ一バ一テック", "株式会社サ⁃バ⁃テック",
		}},
		{"hyphen look-alikes between Latin letters", []string{
			"ABC-Tech株式会社", "ABC－Tech株式会社", "ABC‐Tech株式会社", "ABC−Tech株式会社", "ABCーTech株式会社", "ABC Tech株式会社",
		}},
		{"Cyrillic and Greek look-alike letters", []string{
			"Acme Corporation", "Аcme Corporation", "Acmе Corporation", "Αcme Corporation", "Acme Cοrporation", "ACME CORPORATION", "Acme Corporatiоn",
		}},
		{"digit and letter look-alikes", []string{"Globex 1 Inc", "Globex l Inc", "Globex I Inc"}},
		{"katakana and kanji look-alikes", []string{"ロボテック株式会社", "口ボテック株式会社"}},
		{"kabushiki kaisha abbreviations", []string{"株式会社テスト", "(株)テスト", "（株）テスト", "㈱テスト", "㊑テスト", "[株]テスト", "【株】テスト", "〔株〕テスト", "㍿テスト"}},
		{"yugen", []string{"有限会社テスト", "(有)テスト", "㈲テスト", "㊒テスト"}},
		{"godo", []string{"合同会社テスト", "(同)テスト", "（同）テスト", "(合)テスト"}},
		{"goshi", []string{"合資会社テスト", "(資)テスト", "㈾テスト", "㊮テスト"}},
		{"gomei", []string{"合名会社テスト", "(名)テスト", "㈴テスト", "㊔テスト"}},
		{"ippan shadan", []string{"一般社団法人テスト", "(一社)テスト", "（一社）テスト"}},
		{"ippan zaidan", []string{"一般財団法人テスト", "(一財)テスト"}},
		{"shadan", []string{"社団法人テスト", "㈳テスト", "㊓テスト", "(社)テスト"}},
		{"zaidan", []string{"財団法人テスト", "㈶テスト", "㊖テスト", "(財)テスト"}},
		{"tokutei hieiri", []string{"特定非営利活動法人テスト", "(特非)テスト", "(NPO)テスト", "(特)テスト", "㈵テスト", "㊕テスト"}},
		{"iryo", []string{"医療法人テスト", "(医)テスト", "㊩テスト"}},
		{"gakko", []string{"学校法人テスト", "(学)テスト", "㈻テスト", "㊫テスト"}},
		{"half-width variants", []string{"(ｶﾌﾞ)", "(カブ)"}},
		{"small and large ke", []string{"霞ヶ関商事株式会社", "霞ケ関商事株式会社", "霞ヵ関商事株式会社", "霞が関商事株式会社"}},
	}
	for _, g := range groups {
		want := LegalNameKey(g.names[0])
		for _, n := range g.names[1:] {
			if got := LegalNameKey(n); got != want {
				t.Errorf("%s: LegalNameKey(%q) = %q, want %q (from %q)", g.class, n, got, want, g.names[0])
			}
		}
	}
	different := [][2]string{
		{"株式会社テスト", "テスト株式会社"},
		{"株式会社サーバー", "株式会社サバ"},
		{"合同会社テスト", "合資会社テスト"},
		{"Acme Corporation", "Acne Corporation"},
		{"株式会社テスト", "有限会社テスト"},
	}
	for _, d := range different {
		if LegalNameKey(d[0]) == LegalNameKey(d[1]) {
			t.Errorf("%q and %q must not share a key", d[0], d[1])
		}
	}
}

func TestLegalNameExpandsTheWholeFamily(t *testing.T) {
	for in, want := range map[string]string{
		"（同）テスト": "合同会社テスト", "㊑テスト": "株式会社テスト", "テスト【株】": "テスト株式会社", "(一財)テスト": "一般財団法人テスト",
		"(特非)みらい": "特定非営利活動法人みらい", "(医社)テスト会": "医療法人社団テスト会", "「テスト」": "「テスト」",
	} {
		if got := LegalName(in); got != want {
			t.Errorf("LegalName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAddressKeysFoldPlaceNameVariants(t *testing.T) {
	same := [][]string{
		{"霞ヶ関1-2-3", "霞ケ関1丁目2番3号", "霞ヵ関１－２－３", "霞が関一丁目2番地3"},
		{"ローソンビル5-2-3", "ロ－ソンビル5-2-3", "ロ‐ソンビル５丁目２番３号"},
	}
	for _, g := range same {
		for _, s := range g[1:] {
			if AddressLineKey(s) != AddressLineKey(g[0]) {
				t.Errorf("AddressLineKey(%q) = %q, want %q (%q)", s, AddressLineKey(s), AddressLineKey(g[0]), g[0])
			}
		}
	}
	if PlaceKey("鎌ヶ谷市") != PlaceKey("鎌ケ谷市") || PlaceKey("袖ヶ浦市") != PlaceKey("袖ケ浦市") {
		t.Error("city names with ヶ and ケ must agree")
	}
}

func TestCheckRegisterText(t *testing.T) {
	tests := []struct{ in, class string }{
		{"テスト\u200b商事", ProblemInvisible},
		{"テスト\u2060商事", ProblemInvisible},
		{"テスト\ufeff商事", ProblemInvisible},
		{"テスト\u00ad商事", ProblemInvisible},
		{"テスト\ufe0f商事", ProblemInvisible},
		{"テスト\u3164商事", ProblemInvisible},
		{"ABC\u202eCBA", ProblemBidi},
		{"ABC\u2067x\u2069", ProblemBidi},
		{"ABC\u200f", ProblemBidi},
		{"テスト😀商事", ProblemEmoji},
		{"テスト★商事", ProblemEmoji},
		{"テスト👍🏽", ProblemEmoji},
		{"ABC\x07", ProblemControl},
		{"株式会社テスト", ""},
		{"㈱テスト・ジャパン", ""},
		{"AT&T Japan, Inc.", ""},
		{"ＡＢＣ'ｓ", ""},
	}
	for _, tt := range tests {
		p, bad := CheckRegisterText(Text(tt.in))
		if bad != (tt.class != "") || p.Class != tt.class {
			t.Errorf("CheckRegisterText(%q) = %v %v, want %q", tt.in, p, bad, tt.class)
		}
	}
	if _, bad := CheckText("support 😀"); bad {
		t.Error("CheckText leaves emoji to the register fields")
	}
}

// TestCheckFreeText: a text written for another to read keeps its line
// breaks and tabs; any other control, invisible or bidi-control character
// is reported with its class.
func TestCheckFreeText(t *testing.T) {
	for s, want := range map[string]string{
		"販売契約を\n\t終了しました\r\n": "",
		"絵文字 😀 は可":            "",
		"abc\u202edef":        ProblemBidi,
		"\u2066isolate\u2069": ProblemBidi,
		"a\x00b":              ProblemControl,
		"a\x07b":              ProblemControl,
		"a\u200bb":            ProblemInvisible,
		"a\ufeffb":            ProblemInvisible,
	} {
		p, bad := CheckFreeText(s)
		if got := map[bool]string{true: p.Class}[bad]; got != want {
			t.Errorf("CheckFreeText(%q) = %q, want %q", s, got, want)
		}
	}
}
