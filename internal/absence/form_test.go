package absence_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/school"
)

// TestCheckValidatesTheForm walks absence.Check, the parent's form's validation, which
// needs no database: each case names the fields it expects refused (none: accepted).
func TestCheckValidatesTheForm(t *testing.T) {
	t.Parallel()
	// 2026-12-07 is a Monday.
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, school.Tokyo)
	settings := absence.Settings{SchoolID: 11, Cutoff: "08:00", Reasons: []string{"illness", "family", "suspension"},
		Symptoms: []string{"fever", "cough"}}
	valid := absence.Form{ChildID: 5, Kind: "absent", From: "2026-12-07", Reason: "family"}
	with := func(change func(*absence.Form)) absence.Form {
		f := valid
		change(&f)
		return f
	}
	tests := []struct {
		name string
		form absence.Form
		want apperr.Fields
	}{
		{"absent today for the family", valid, apperr.Fields{}},
		{"absent over several days", with(func(f *absence.Form) { f.To = "2026-12-09" }), apperr.Fields{}},
		{"dates with spaces", with(func(f *absence.Form) { f.From, f.To = " 2026-12-07 ", " 2026-12-08 " }), apperr.Fields{}},
		{"unknown kind", with(func(f *absence.Form) { f.Kind = "holiday" }), apperr.Fields{"kind": "absence.kind.invalid"}},
		{"no date", with(func(f *absence.Form) { f.From = "" }), apperr.Fields{"from": "absence.date.invalid"}},
		{"not a date", with(func(f *absence.Form) { f.From = "7 December" }), apperr.Fields{"from": "absence.date.invalid"}},
		{"yesterday", with(func(f *absence.Form) { f.From = "2026-12-06" }), apperr.Fields{"from": "absence.date.past"}},
		{"the last day ahead", with(func(f *absence.Form) { f.From = "2027-01-06" }), apperr.Fields{}},
		{"too far ahead", with(func(f *absence.Form) { f.From = "2027-01-07" }), apperr.Fields{"from": "absence.date.too_far"}},
		{"ends before it starts", with(func(f *absence.Form) { f.From, f.To = "2026-12-09", "2026-12-08" }), apperr.Fields{"to": "absence.date.range"}},
		{"ends too far ahead", with(func(f *absence.Form) { f.To = "2027-01-07" }), apperr.Fields{"to": "absence.date.range"}},
		{"end not a date", with(func(f *absence.Form) { f.To = "tomorrow" }), apperr.Fields{"to": "absence.date.invalid"}},
		{"an end date on a late arrival is ignored", with(func(f *absence.Form) { f.Kind, f.To, f.Time = "late", "nonsense", "10:30" }), apperr.Fields{}},
		{"reason the school does not offer", with(func(f *absence.Form) { f.Reason = "bereavement" }), apperr.Fields{"reason": "absence.reason.invalid"}},
		{"no reason", with(func(f *absence.Form) { f.Reason = "" }), apperr.Fields{"reason": "absence.reason.invalid"}},
		{"suspension with its disease", with(func(f *absence.Form) { f.Reason, f.Disease = "suspension", "influenza" }), apperr.Fields{}},
		{"suspension without a disease", with(func(f *absence.Form) { f.Reason = "suspension" }), apperr.Fields{"disease": "absence.disease.invalid"}},
		{"illness with symptoms and a full-width temperature", with(func(f *absence.Form) {
			f.Reason, f.Symptoms, f.Temperature = "illness", []string{"fever", "cough"}, "３８.５"
		}), apperr.Fields{}},
		{"symptom the school does not offer", with(func(f *absence.Form) { f.Reason, f.Symptoms = "illness", []string{"rash"} }), apperr.Fields{"symptoms": "absence.symptoms.invalid"}},
		{"temperature out of range", with(func(f *absence.Form) { f.Reason, f.Temperature = "illness", "43" }), apperr.Fields{"temperature": "absence.temperature.invalid"}},
		{"temperature not a number", with(func(f *absence.Form) { f.Reason, f.Temperature = "illness", "hot" }), apperr.Fields{"temperature": "absence.temperature.invalid"}},
		{"temperature ignored unless ill", with(func(f *absence.Form) { f.Temperature = "hot" }), apperr.Fields{}},
		{"note at the limit", with(func(f *absence.Form) { f.Note = strings.Repeat("あ", absence.MaxNote) }), apperr.Fields{}},
		{"note too long", with(func(f *absence.Form) { f.Note = strings.Repeat("あ", absence.MaxNote+1) }), apperr.Fields{"note": "absence.note.too_long"}},
		{"late with a time", with(func(f *absence.Form) { f.Kind, f.Time = "late", "10:30" }), apperr.Fields{}},
		{"late with a full-width time", with(func(f *absence.Form) { f.Kind, f.Time = "late", "１０：３０" }), apperr.Fields{}},
		{"late without a time", with(func(f *absence.Form) { f.Kind = "late" }), apperr.Fields{"time": "absence.time.required"}},
		{"leaving early at no real time", with(func(f *absence.Form) { f.Kind, f.Time = "early", "25:00" }), apperr.Fields{"time": "absence.time.required"}},
		{"several problems at once", absence.Form{Kind: "absent", From: "2026-12-01", Reason: "x"},
			apperr.Fields{"from": "absence.date.past", "reason": "absence.reason.invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := absence.Check(tt.form, settings, today)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckBuildsTheReport: an accepted form becomes the report that is stored, with
// the time and temperature in narrow digits, repeated symptoms once and the note
// trimmed.
func TestCheckBuildsTheReport(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, school.Tokyo)
	settings := absence.Settings{SchoolID: 11, Reasons: []string{"illness"}, Symptoms: []string{"fever", "cough"}}
	f := absence.Form{ChildID: 5, Kind: "absent", From: "2026-12-08", To: "2026-12-09", Reason: "illness",
		Symptoms: []string{"fever", "cough", "fever"}, Temperature: " ３８.２ ", Note: "  病院に行きます  "}
	r, problems := absence.Check(f, settings, today)
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	want := absence.Report{ChildID: 5, SchoolID: 11, Kind: "absent",
		From: time.Date(2026, 12, 8, 0, 0, 0, 0, school.Tokyo), To: time.Date(2026, 12, 9, 0, 0, 0, 0, school.Tokyo),
		Detail: absence.Detail{Reason: "illness", Symptoms: []string{"fever", "cough"}, Temperature: "38.2", Note: "病院に行きます"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}
