package i18n_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/web"
)

func catalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLanguages(t *testing.T) {
	t.Parallel()
	got := catalog(t).Languages()
	if len(got) < 2 || got[0] != "ja" {
		t.Fatalf("languages = %v, want ja first and en", got)
	}
}

func TestLocalizerChoice(t *testing.T) {
	t.Parallel()
	c := catalog(t)
	tests := []struct {
		name  string
		prefs []string
		want  string
	}{
		{"nothing", nil, "ja"},
		{"accept english", []string{"", "en-US,en;q=0.9"}, "en"},
		{"accept japanese", []string{"", "ja-JP,ja;q=0.9,en;q=0.5"}, "ja"},
		{"explicit wins", []string{"ja", "en-US"}, "ja"},
		{"unsupported falls back to japanese", []string{"", "ko-KR"}, "ja"},
		{"garbage", []string{"!!", "###"}, "ja"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := c.Localizer(tt.prefs...).Lang(); got != tt.want {
				t.Fatalf("lang = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	c := catalog(t)
	if got := c.Localizer("ja").T("landing.staff.login"); got != "教職員サインイン" {
		t.Errorf("ja = %q", got)
	}
	if got := c.Localizer("en").T("landing.staff.login"); got != "Staff sign-in" {
		t.Errorf("en = %q", got)
	}
	if got := c.Localizer("ja").T("no.such.id"); got != "no.such.id" {
		t.Errorf("missing = %q", got)
	}
}

func TestEveryLanguageHasEveryMessage(t *testing.T) {
	t.Parallel()
	if bad := catalog(t).Inconsistent(); len(bad) > 0 {
		t.Fatalf("messages missing in some language: %v", bad)
	}
}

// TestCodeUsesOnlyKnownMessages scans the Go and templ sources for T("…") calls and
// checks that every ID exists in every language, so a typo never shows a raw ID.
func TestCodeUsesOnlyKnownMessages(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	// T("id") calls, and the message IDs services hand to the web layer: apperr.E's,
	// per-field problems, flashes and page titles.
	res := []*regexp.Regexp{
		regexp.MustCompile(`\bT\("([a-z0-9_.]+)"[,)]`),
		regexp.MustCompile(`apperr\.E\(apperr\.\w+, "([a-z0-9_.]+)"`),
		regexp.MustCompile(`\.Add\("[a-z_]+", "([a-z0-9_.]+)"\)`),
		regexp.MustCompile(`Fields\{"[a-z_]+": "([a-z0-9_.]+)"\}`),
		regexp.MustCompile(`flash(?:Count|At)?\(r, "([a-z0-9_.]+)"`),
		regexp.MustCompile(`page\(r, "([a-z0-9_.]+)"\)`),
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(p, "_test.go") || strings.HasSuffix(p, "_templ.go") {
			return nil
		}
		if !strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, ".templ") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, re := range res {
			for _, m := range re.FindAllSubmatch(b, -1) {
				seen[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		t.Fatal("found no T(\"…\") calls: the scan is broken")
	}
	// IDs built at run time from a code.
	for _, prefix := range []string{"role.", "duty.", "audit.kind.", "reg.status.", "reg.relationship.", "reg.line.button_", "reg.line.leave_", "absence.kind.", "absence.reason.", "absence.symptom.", "absence.disease.", "absence.status.", "inbox.state.", "inbox.delivery.", "inbox.image_", "channel.purpose.", "channel.method.", "announce.kind.", "announce.state.", "announce.delivery.", "announce.recipients.", "announce.new.", "announce.line.heading_", "retention.category.", "retention.reason."} {
		var codes []string
		switch prefix {
		case "role.":
			codes = []string{"board_admin", "school_admin", "teacher"}
		case "duty.":
			codes = []string{"homeroom", "sub_homeroom", "advisor", "office"}
		case "audit.kind.":
			codes = []string{"staff", "guardian", "system", "operator", "anonymous"}
		case "reg.status.":
			codes = []string{"pending", "verified", "rejected"}
		case "reg.relationship.":
			codes = []string{"father", "mother", "grandfather", "grandmother", "other"}
		case "reg.line.leave_":
			codes = []string{"transfer", "graduation", "year_end"}
		case "reg.line.button_":
			codes = []string{"register", "update"}
		case "absence.kind.":
			codes = []string{"absent", "late", "early"}
		case "absence.reason.":
			codes = []string{"illness", "hospital", "family", "bereavement", "suspension", "other"}
		case "absence.symptom.":
			codes = []string{"fever", "headache", "stomachache", "cough", "vomiting", "other"}
		case "absence.disease.":
			codes = []string{"influenza", "covid", "other"}
		case "absence.status.":
			codes = []string{"sent", "acknowledged", "cancelled"}
		case "inbox.state.":
			codes = []string{"open", "in_progress", "done"}
		case "inbox.delivery.":
			codes = []string{"queued", "sent", "failed", "undeliverable"}
		case "announce.kind.", "announce.line.heading_", "announce.new.":
			codes = []string{"notice", "safety"}
		case "retention.category.":
			codes = []string{"message", "conversation", "line_copy", "absence_report", "announcement", "handout", "guardian", "child", "guardianship",
				"survey", "survey_answer", "survey_handout"}
		case "retention.reason.":
			codes = []string{"retention", "withdrawal", "guardian_update", "graduation", "transfer", "year_end"}
		case "announce.state.":
			codes = []string{"draft", "scheduled", "sending", "sent", "cancelled"}
		case "announce.delivery.":
			codes = []string{"queued", "sent", "failed", "skipped"}
		case "announce.recipients.":
			codes = []string{"unread", "failed"}
		case "inbox.image_":
			codes = []string{"pending", "unavailable"}
		case "channel.method.":
			codes = []string{"push", "reply", "multicast", "other"}
		case "channel.purpose.":
			codes = []string{"welcome", "reply", "registration", "absence", "absence_ack", "contact", "staff_reply", "handouts", "notice", "safety", "rollover", "other"}
		}
		for _, c := range codes {
			ids = append(ids, prefix+c)
		}
	}
	for d := 0; d < 7; d++ {
		ids = append(ids, "weekday."+string(rune('0'+d)))
	}
	if bad := catalog(t).Missing(ids); len(bad) > 0 {
		t.Fatalf("code uses messages the catalogue lacks: %v", bad)
	}
}
