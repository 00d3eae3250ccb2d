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
