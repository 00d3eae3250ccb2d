package announce

import (
	"bytes"
	"testing"

	"github.com/renraku/renraku/internal/vault"
)

func TestIsPDFLooksAtTheContent(t *testing.T) {
	t.Parallel()
	pdf := []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"pdf", pdf, true},
		{"pdf 2.0", bytes.Replace(pdf, []byte("1.7"), []byte("2.0"), 1), true},
		{"junk before the header (allowed by readers)", append([]byte("\xef\xbb\xbf"), pdf...), true},
		{"text renamed .pdf", []byte("これはPDFではありません"), false},
		{"png", []byte("\x89PNG\r\n\x1a\n%%EOF"), false},
		{"truncated (no %%EOF)", pdf[:len(pdf)-7], false},
		{"header too late", append(bytes.Repeat([]byte{' '}, 1100), pdf...), false},
		{"empty", nil, false},
	} {
		if got := IsPDF(tc.data); got != tc.want {
			t.Errorf("%s: IsPDF = %v", tc.name, got)
		}
	}
}

func TestNamesChildIgnoresSpaces(t *testing.T) {
	t.Parallel()
	names := []vault.Personal{"木村 あおい", "田中　大輝", "李"}
	for text, want := range map[string]bool{
		"下校中の木村あおいさんが声をかけられました": true,
		"田中 大輝 さんのご家族へ":         true,
		"木村さんから連絡がありました":        false,
		"李さん":     false, // one-character names would match everywhere
		"不審者情報です": false,
	} {
		if got := NamesChild(text, names); got != want {
			t.Errorf("NamesChild(%q) = %v", text, got)
		}
	}
}

func TestCleanNameKeepsABaseNameEndingInPDF(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"学年だより.pdf":           "学年だより.pdf",
		`C:\Users\先生\持ち物.PDF`: "持ち物.PDF",
		"../../etc/passwd":    "passwd.pdf",
		"":                    "handout.pdf",
		"a\"b\x00c.pdf":       "abc.pdf",
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSafetyBodyGivesBackWhatSafetyBodyLaidOut(t *testing.T) {
	t.Parallel()
	labels := map[string]string{"announce.safety.occurred_at": "発生日時", "announce.safety.place": "場所",
		"announce.safety.details": "内容", "announce.safety.response": "対応"}
	tr := func(_, id string, _ map[string]any) string { return labels[id] }
	for _, tc := range []struct {
		name  string
		f     SafetyFields
		extra string
	}{
		{"plain", SafetyFields{OccurredAt: "12月1日 7時ごろ", Place: "裏山", Details: "クマ1頭", Response: "集団で登下校"}, ""},
		{"with extra", SafetyFields{OccurredAt: "12月1日", Place: "公園", Details: "不審な車\n白の軽自動車", Response: "見守り"}, "続報はお知らせします。"},
		{"a field with a blank line", SafetyFields{OccurredAt: "今朝", Place: "駅前", Details: "声かけ", Response: "一人で\n\n歩かない"}, "補足"},
		{"a field with a heading", SafetyFields{OccurredAt: "今朝", Place: "駅前", Details: "声かけ\n対応：警察へ通報", Response: "見守り"}, ""},
	} {
		body := SafetyBody(tr, tc.f)
		if tc.extra != "" {
			body += "\n\n" + tc.extra
		}
		f, extra, ok := ParseSafetyBody(tr, body)
		if !ok {
			t.Errorf("%s: not parsed", tc.name)
			continue
		}
		// The fields may split differently where a field holds a later heading or a
		// blank line, but laid out again they give the same text.
		again := SafetyBody(tr, f)
		if extra != "" {
			again += "\n\n" + extra
		}
		if again != body {
			t.Errorf("%s: laid out again\n%q\nwant\n%q", tc.name, again, body)
		}
		if tc.name == "plain" && (f != tc.f || extra != "") {
			t.Errorf("plain: %+v %q", f, extra)
		}
	}
	if _, _, ok := ParseSafetyBody(tr, "ただの本文"); ok {
		t.Error("a body without the template was parsed")
	}
}
