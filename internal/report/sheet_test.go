package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/report"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web"
)

func service(t *testing.T) *report.Service {
	t.Helper()
	c, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	return &report.Service{T: func(lang, id string, data map[string]any) string { return c.Localizer(lang).T(id, data) }}
}

func table(sh report.Sheet, id string) [][]string {
	for _, tb := range sh.Tables {
		if tb.ID == id {
			var out [][]string
			for _, row := range tb.Rows {
				var cells []string
				for _, c := range row {
					cells = append(cells, c.Text)
				}
				out = append(out, cells)
			}
			return out
		}
	}
	return nil
}

// TestSheetQuotaWords: a LINE account's monthly limit reads as the channel page has it
// (上限なし for none), a number when LINE states one, and — with a note saying why —
// when LINE was not asked (a past month) or did not answer.
func TestSheetQuotaWords(t *testing.T) {
	t.Parallel()
	s := service(t)
	for _, tc := range []struct {
		name  string
		quota report.Limit
		want  string
		note  bool
	}{
		{"no limit", report.Limit{Known: true}, "上限なし", false},
		{"limited", report.Limit{Known: true, Limited: true, Max: 200}, "200", false},
		{"not known", report.Limit{}, "—", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := report.Report{Month: time.Date(2026, 11, 1, 0, 0, 0, 0, school.Tokyo), Board: "みどり市教育委員会",
				Channels: []report.Channel{{LineChannelID: "2000000001", Schools: "さくら小学校", Used: 12, Failures: 1, Quota: tc.quota}}}
			sh := s.Sheet(r, "ja")
			if diff := cmp.Diff([][]string{{"2000000001", "さくら小学校", "12", tc.want, "1"}}, table(sh, "channels")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var note string
			for _, tb := range sh.Tables {
				if tb.ID == "channels" {
					note = tb.Note
				}
			}
			if (note != "") != tc.note {
				t.Errorf("note %q", note)
			}
		})
	}
}

// TestSheetAvailability: availability is two decimals of the minutes that are over;
// withdrawals are the board's figure only.
func TestSheetAvailability(t *testing.T) {
	t.Parallel()
	s := service(t)
	r := report.Report{Month: time.Date(2026, 11, 1, 0, 0, 0, 0, school.Tokyo), Minutes: 11, Up: 10}
	got := table(s.Sheet(r, "ja"), "operation")
	want := [][]string{{"稼働率（％）", "90.91"}, {"稼働した時間（分）", "10"}, {"集計した時間（分）", "11"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("school (-want +got):\n%s", diff)
	}
	r.BoardWide, r.Withdrawals = true, 3
	got = table(s.Sheet(r, "ja"), "operation")
	if last := got[len(got)-1]; strings.Join(last, " ") != "退会した保護者（人） 3" {
		t.Errorf("board: %q", got)
	}
}

// TestSheetAvailabilityBeforeAMinute: just after renraku first started no minute is
// over, and availability is not a figure yet (not 0.00%).
func TestSheetAvailabilityBeforeAMinute(t *testing.T) {
	t.Parallel()
	got := table(service(t).Sheet(report.Report{Month: time.Date(2026, 11, 1, 0, 0, 0, 0, school.Tokyo)}, "ja"), "operation")
	if got[0][1] != "—" {
		t.Errorf("availability with no minute over: %q", got[0])
	}
}
