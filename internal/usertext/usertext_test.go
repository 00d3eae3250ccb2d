package usertext_test

import (
	"testing"

	"github.com/renraku/renraku/internal/usertext"
)

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain Japanese", "山田 花子", "山田 花子"},
		{"right-to-left override", "山田\u202Eｺ子花", "山田ｺ子花"},
		{"left-to-right override and pop", "\u202Dabc\u202C", "abc"},
		{"embeddings", "\u202Aa\u202Bb\u202C", "ab"},
		{"isolates", "\u2066a\u2067b\u2068c\u2069", "abc"},
		{"zero width space", "山\u200B田", "山田"},
		{"zero width non-joiner", "山\u200C田", "山田"},
		{"marks LRM RLM", "\u200Ea\u200F", "a"},
		{"joiner between letters", "山\u200D田", "山田"},
		{"joiner at the end", "😀\u200D", "😀"},
		{"joiner at the start", "\u200D😀", "😀"},
		{"arabic letter mark", "a\u061Cb", "ab"},
		{"byte order mark", "\uFEFFさくら", "さくら"},
		{"soft hyphen", "ab\u00ADcd", "abcd"},
		{"word joiner and invisible operators", "a\u2060b\u2062c", "abc"},
		{"interlinear annotation", "a\uFFF9b\uFFFBc", "abc"},
		{"family ZWJ sequence kept", "👨\u200D👩\u200D👧", "👨\u200D👩\u200D👧"},
		{"rainbow flag with selector kept", "🏳\uFE0F\u200D🌈", "🏳\uFE0F\u200D🌈"},
		{"skin tone then joiner kept", "👩🏽\u200D💻", "👩🏽\u200D💻"},
		{"heart on fire kept", "❤\uFE0F\u200D🔥", "❤\uFE0F\u200D🔥"},
		{"woman gesturing with ♀ kept", "🙅\u200D♀\uFE0F", "🙅\u200D♀\uFE0F"},
		{"skin tone modifier kept", "👍🏿", "👍🏿"},
		{"regional indicator flag kept", "🇯🇵", "🇯🇵"},
		{"tag sequence flag kept", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"},
		{"stray tags removed", "a\U000E0067\U000E007F", "a"},
		{"variation selector kept", "葛\U000E0100城 ☺\uFE0F", "葛\U000E0100城 ☺\uFE0F"},
		{"override inside emoji removed", "👨\u202E\u200D👩", "👨\u200D👩"},
		{"newlines and tabs are not format characters", "a\nb\tc", "a\nb\tc"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := usertext.Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
			if got := usertext.Has(tt.in); got != (tt.in != tt.want) {
				t.Errorf("Has(%+q) = %v", tt.in, got)
			}
		})
	}
}
