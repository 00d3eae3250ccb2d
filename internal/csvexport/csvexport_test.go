package csvexport_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/renraku/renraku/internal/csvexport"
)

func TestNeutralise(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"equals", `=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"dde", `=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
		{"plus", "+81 90", "'+81 90"},
		{"minus", "-1", "'-1"},
		{"dash alone", "-", "'-"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"full-width equals", "＝1+1", "'＝1+1"},
		{"full-width plus", "＋1", "'＋1"},
		{"full-width minus", "－1", "'－1"},
		{"full-width at", "＠x", "'＠x"},
		{"plain", "山田 花子", "山田 花子"},
		{"formula later in the cell", "a=1", "a=1"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := csvexport.Neutralise(tt.in)
			if got != tt.want {
				t.Errorf("Neutralise(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if csvexport.Dangerous(got) {
				t.Errorf("%q is still dangerous", got)
			}
			if back := csvexport.Unneutralise(got); back != tt.in {
				t.Errorf("Unneutralise(%q) = %q, want %q", got, back, tt.in)
			}
		})
	}
}

func TestTableTypesNumbers(t *testing.T) {
	t.Parallel()
	tb := csvexport.NewTable("名前", "件数", "率")
	tb.Row(csvexport.Text("-1"), csvexport.Int(-1), csvexport.Float(-0.5, 2))
	recs, err := csv.NewReader(strings.NewReader(tb.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[1]; got[0] != "'-1" || got[1] != "-1" || got[2] != "-0.50" {
		t.Errorf("row = %q: text must be neutralised, numbers written as they are", got)
	}
	if !strings.HasSuffix(tb.String(), "\r\n") {
		t.Error("rows do not end in CRLF")
	}
}

func TestEncodeShiftJISSubstitutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		n              int
	}{
		{"encodable", "山田〜花子", "山田～花子", 0},
		{"emoji", "よろしく😀", "よろしく〓", 1},
		{"two emoji", "😀😀", "〓〓", 2},
		{"family ZWJ sequence is one", "👨\u200D👩\u200D👧です", "〓です", 1},
		{"skin tone is one", "👍🏿", "〓", 1},
		{"flag is one", "🇯🇵🇯🇵", "〓〓", 2},
		{"override", "a\u202Eb", "a〓b", 1},
		{"ideographic variation selector dropped", "葛\U000E0100城", "葛城", 0},
		{"decomposed kana composed", "か\u3099", "が", 0},
		{"rare kanji", "𠮷野", "〓野", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := csvexport.Encode(tt.in, csvexport.ShiftJIS)
			if err != nil {
				t.Fatal(err)
			}
			got, err := japanese.ShiftJIS.NewDecoder().String(string(f.Data))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || f.Substituted != tt.n {
				t.Errorf("Encode(%+q) = %q with %d substituted, want %q with %d", tt.in, got, f.Substituted, tt.want, tt.n)
			}
		})
	}
}

func TestEncodeUTF8BOM(t *testing.T) {
	t.Parallel()
	f, err := csvexport.Encode("a😀", csvexport.UTF8BOM)
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Data) != "\uFEFFa😀" || f.Substituted != 0 {
		t.Errorf("got %q, %d", f.Data, f.Substituted)
	}
	if _, err := csvexport.Encode("a", "latin1"); err == nil {
		t.Error("an unknown encoding was accepted")
	}
}

func TestEncodeBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		enc  csvexport.Encoding
		want []byte
	}{
		{"bom", "a\r\n", csvexport.UTF8BOM, []byte{0xEF, 0xBB, 0xBF, 'a', '\r', '\n'}},
		{"plain", "あ", csvexport.UTF8, []byte("あ")},
		// x/text writes 髙 and 﨑 with their NEC-selected codes (EE E0, ED 95) where Windows
		// writes the IBM ones (FB FC, FA B1); CP932 readers accept both.
		{"shift_jis", "あ髙﨑①～", csvexport.ShiftJIS, []byte{0x82, 0xA0, 0xEE, 0xE0, 0xED, 0x95, 0x87, 0x40, 0x81, 0x60}},
		{"wave dash saved as its cp932 look-alike", "〜−", csvexport.ShiftJIS, []byte{0x81, 0x60, 0x81, 0x7C}},
		{"geta mark", "김", csvexport.ShiftJIS, []byte{0x81, 0xAC}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := csvexport.Encode(tt.text, tt.enc)
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Data) != string(tt.want) {
				t.Errorf("Encode(%q) = % x, want % x", tt.text, f.Data, tt.want)
			}
		})
	}
}
