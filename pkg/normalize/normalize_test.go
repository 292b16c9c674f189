package normalize

import "testing"

func TestLegalName(t *testing.T) {
	tests := []struct {
		name, in, display, key string
	}{
		{"full-width parenthesised kabu before", "（株）ＡＢＣ", "株式会社ABC", "株式会社abc"},
		{"half-width parenthesised kabu before", "(株)ABC", "株式会社ABC", "株式会社abc"},
		{"circled kabu before", "㈱ABC", "株式会社ABC", "株式会社abc"},
		{"kabu after keeps its position", "ABC（株）", "ABC株式会社", "abc株式会社"},
		{"circled kabu after", "ABC㈱", "ABC株式会社", "abc株式会社"},
		{"space after the form is dropped", "(株) ABC", "株式会社ABC", "株式会社abc"},
		{"space before the form is dropped", "ABC (株)", "ABC株式会社", "abc株式会社"},
		{"spaces inside the parentheses", "( 株 )ABC", "株式会社ABC", "株式会社abc"},
		{"yugen", "(有)テスト", "有限会社テスト", "有限会社テスト"},
		{"circled yugen", "㈲テスト", "有限会社テスト", "有限会社テスト"},
		{"godo", "(合)テスト", "合同会社テスト", "合同会社テスト"},
		{"gomei", "(名)テスト", "合名会社テスト", "合名会社テスト"},
		{"goshi", "(資)テスト", "合資会社テスト", "合資会社テスト"},
		{"ippan shadan", "(一社)テスト協会", "一般社団法人テスト協会", "一般社団法人テスト協会"},
		{"circled shadan", "㈳テスト", "社団法人テスト", "社団法人テスト"},
		{"NPO", "(NPO)みらい", "特定非営利活動法人みらい", "特定非営利活動法人みらい"},
		{"unknown parenthesised word kept", "ABC(Japan)", "ABC(Japan)", "abcjapan"},
		{"half-width katakana widened", "ｱｲｳ商事(株)", "アイウ商事株式会社", "アイウ商事株式会社"},
		{"voiced half-width katakana composed", "ｶﾞｷﾞｸﾞ(株)", "ガギグ株式会社", "ガギグ株式会社"},
		{"full-width latin and digits", "ＡＢＣ１２３株式会社", "ABC123株式会社", "abc123株式会社"},
		{"ideographic space collapsed", "株式会社　テスト　ジャパン", "株式会社テスト ジャパン", "株式会社テストジャパン"},
		{"trailing half-width space", "テスト株式会社 ", "テスト株式会社", "テスト株式会社"},
		{"trailing dot", "テスト株式会社.", "テスト株式会社.", "テスト株式会社"},
		{"english punctuation noise", "ABC Co., Ltd.", "ABC Co., Ltd.", "abccoltd"},
		{"english without punctuation", "ＡＢＣ　CO LTD", "ABC CO LTD", "abccoltd"},
		{"nakaguro is noise in the key", "ABC・ジャパン株式会社", "ABC・ジャパン株式会社", "abcジャパン株式会社"},
		{"tabs and newlines", "\tABC\n株式会社\r\n", "ABC株式会社", "abc株式会社"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LegalName(tt.in); got != tt.display {
				t.Errorf("LegalName(%q) = %q, want %q", tt.in, got, tt.display)
			}
			if got := LegalNameKey(tt.in); got != Key(tt.key) {
				t.Errorf("LegalNameKey(%q) = %q, want %q", tt.in, got, tt.key)
			}
		})
	}
}

func TestLegalNameKeyPositionOfLegalFormMatters(t *testing.T) {
	if LegalNameKey("株式会社テスト") == LegalNameKey("テスト株式会社") {
		t.Fatal("株式会社テスト and テスト株式会社 must have different keys")
	}
	if LegalNameKey("(株)テスト") != LegalNameKey("株式会社 テスト") {
		t.Fatal("(株)テスト and 株式会社 テスト must have the same key")
	}
}

func TestAddressLineKeyBlockNotation(t *testing.T) {
	same := []string{
		"5-2-3", "５－２－３", "5丁目2番地3", "5丁目2番3号", "５丁目２番３号", "五丁目2番3号", "五丁目二番三号",
		"5丁目2-3", "5丁目2番地の3", "5 - 2 - 3", "5ー2ー3", "5‐2‐3", "5−2−3", "5丁目 2番 3号",
	}
	for _, in := range same {
		t.Run(in, func(t *testing.T) {
			if got := AddressLineKey(in); got != "5-2-3" {
				t.Errorf("AddressLineKey(%q) = %q, want 5-2-3", in, got)
			}
		})
	}
	tests := []struct{ in, want string }{
		{"六本木6丁目10番1号", "六本木6-10-1"},
		{"六本木六丁目十番一号", "六本木6-10-1"}, // place-name kanji (六本木) untouched
		{"二十三番地", "23"},
		{"百五番地の二", "105-2"},
		{"5-2-3 ABCビル 5F", "5-2-3abcビル5f"},
		{"5-2-3 ABCビル5階", "5-2-3abcビル5f"},
		{"5丁目", "5"},
		{"1-1 Marunouchi, Chiyoda-ku", "1-1marunouchichiyodaku"},
		{"丸の内十二丁目", "丸の内12"},
		{"二番町3番地", "二番町3"}, // a kanji numeral in a place name stays
		{"八王子市", "八王子市"},
		{"大手町1の2", "大手町1-2"},
		{"1番1号 ABCビル 5階", "1-1abcビル5f"},
	}
	for _, tt := range tests {
		if got := AddressLineKey(tt.in); got != foldNonNumeric(tt.want) {
			t.Errorf("AddressLineKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if AddressLineKey("5-2-3") == AddressLineKey("5-2-4") {
		t.Error("different house numbers must not match")
	}
}

func TestNormalizeAddressLineKeepsNotation(t *testing.T) {
	tests := []struct{ in, want string }{
		{"５丁目２番地３", "5丁目2番地3"}, // the applicant's notation stays for the reviewer
		{"５－２－３", "5-2-3"},
		{"5ー2ー3　ABCビル", "5-2-3 ABCビル"},
		{"5 - 2 - 3", "5-2-3"},
		{"ABC - ビル", "ABC - ビル"}, // not between digits: left alone
		{"ローソン", "ローソン"},         // a long-vowel mark inside a word is not a dash
	}
	for _, tt := range tests {
		if got := AddressLine(tt.in); got != tt.want {
			t.Errorf("AddressLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKanjiToInt(t *testing.T) {
	tests := map[string]int{"五": 5, "十": 10, "十一": 11, "二十": 20, "二十三": 23, "百": 100, "百五": 105, "千二百三十四": 1234, "一〇五": 105}
	for in, want := range tests {
		if got, ok := kanjiToInt(in); !ok || got != want {
			t.Errorf("kanjiToInt(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

func TestPostalCode(t *testing.T) {
	tests := []struct {
		country, in, want, key string
		ok                     bool
	}{
		{"JP", "106-0032", "106-0032", "1060032", true},
		{"JP", "1060032", "106-0032", "1060032", true},
		{"JP", "〒１０６－００３２", "106-0032", "1060032", true},
		{"JP", "１０６ー００３２", "106-0032", "1060032", true},
		{"JP", "106-003", "", "", false},
		{"JP", "1060-032", "", "", false},
		{"JP", "10600321", "", "", false},
		{"JP", "ABC-DEFG", "", "", false},
		{"US", "94105", "94105", "94105", true},
		{"US", "94105-1234", "94105-1234", "94105", true},
		{"US", "941051234", "94105-1234", "94105", true},
		{"US", "９４１０５", "94105", "94105", true},
		{"US", "ABCDE", "", "", false},
		{"US", "9410", "", "", false},
		{"US", "94105-12", "", "", false},
		{"US", "9410$", "", "", false},
		{"GB", "sw1a 1aa", "SW1A 1AA", "SW1A1AA", true},
		{"GB", "sw1a$", "", "", false},
	}
	for _, tt := range tests {
		got, key, ok := PostalCode(tt.country, tt.in)
		if ok != tt.ok || (ok && (got != tt.want || key != tt.key)) {
			t.Errorf("PostalCode(%s, %q) = %q, %q, %v; want %q, %q, %v", tt.country, tt.in, got, key, ok, tt.want, tt.key, tt.ok)
		}
	}
}

func TestRegion(t *testing.T) {
	tests := []struct{ country, in, code, name string }{
		{"US", "CA", "CA", "CA"}, {"US", "ca", "CA", "CA"}, {"US", "California", "CA", "CA"}, {"US", "CALIFORNIA", "CA", "CA"},
		{"US", "Ｃａｌｉｆｏｒｎｉａ", "CA", "CA"}, {"US", "new york", "NY", "NY"}, {"US", "District of Columbia", "DC", "DC"},
		{"US", "Puerto Rico", "PR", "PR"}, {"US", "ZZ", "", ""}, {"US", "Tokyo", "", ""},
		{"JP", "愛知", "23", "愛知県"}, {"JP", "Kyoto-fu", "26", "京都府"}, {"JP", "東京都", "13", "東京都"}, {"JP", "California", "", ""},
	}
	for _, tt := range tests {
		code, name, ok := Region(tt.country, tt.in)
		if ok != (tt.code != "") || (ok && (code != tt.code || name != tt.name)) {
			t.Errorf("Region(%s, %q) = %q, %q, %v; want %q, %q", tt.country, tt.in, code, name, ok, tt.code, tt.name)
		}
	}
	if code, name, ok := Region("GB", " Greater  London "); !ok || code != "" || name != "Greater London" {
		t.Errorf("a market without a table keeps the region as written: %q %q %v", code, name, ok)
	}
}

func TestJPPrefecture(t *testing.T) {
	tests := []struct{ in, code, name string }{
		{"東京都", "13", "東京都"}, {"東京", "13", "東京都"}, {"Tokyo", "13", "東京都"}, {"TOKYO-TO", "13", "東京都"},
		{"Toukyou", "13", "東京都"}, {"京都", "26", "京都府"}, {"Kyoto", "26", "京都府"}, {"大阪府", "27", "大阪府"},
		{"Osaka Prefecture", "27", "大阪府"}, {"北海道", "01", "北海道"}, {"Hokkaido", "01", "北海道"},
		{"沖縄県", "47", "沖縄県"}, {"沖縄", "47", "沖縄県"}, {"ｶﾅｶﾞﾜ", "", ""}, {"California", "", ""},
	}
	for _, tt := range tests {
		code, name, ok := JPPrefecture(tt.in)
		if ok != (tt.code != "") || code != tt.code || name != tt.name {
			t.Errorf("JPPrefecture(%q) = %q, %q, %v; want %q, %q", tt.in, code, name, ok, tt.code, tt.name)
		}
	}
}
