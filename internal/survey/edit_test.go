package survey_test

import (
	"context"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/survey"
)

// TestEditDraft: a draft is edited entirely with the checks of a new survey: its
// handouts removed and added (five at most, positions reused), an attendance check's
// questions rebuilt from its choices, and an audience the teacher may not address
// refused with nothing changed. A scheduled survey keeps a time.
func TestEditDraft(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	pdf := func(name string) announce.Upload { return announce.Upload{Name: name, Data: apptest.SamplePDF(name)} }
	form := func() survey.Form {
		return survey.Form{Lang: "ja", Compose: survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{Classes: []int64{class11}},
			Title: "授業参観", PerChild: true, Deadline: time.Now().Add(72 * time.Hour)}}
	}
	f := form()
	f.Files = []announce.Upload{pdf("a.pdf"), pdf("b.pdf"), pdf("c.pdf")}
	id, _, err := s.Surveys.CreateFromForm(tannin, f)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := s.Surveys.Get(tannin, id)
	if err != nil || len(sv.Handouts) != 3 || len(sv.Questions) != 1 || sv.Audience.SchoolID != sakuraID {
		t.Fatalf("created: %+v %v", sv, err)
	}

	// Adding three to the three: six would be too many.
	f = form()
	f.Files = []announce.Upload{pdf("d.pdf"), pdf("e.pdf"), pdf("f.pdf")}
	_, err = s.Surveys.UpdateFromForm(tannin, id, f, nil)
	if apperr.FieldsOf(err)["files"] == "" {
		t.Errorf("six handouts: %v", err)
	}
	// Another teacher's class: refused, nothing changed.
	f = form()
	f.Audience.Classes = []int64{class12}
	if _, err := s.Surveys.UpdateFromForm(tannin, id, f, nil); err == nil {
		t.Errorf("another class: no refusal")
	}
	// Removing b.pdf, adding d.pdf and e.pdf, asking a reason and the number.
	f = form()
	f.Title, f.AskReason, f.AskCount = "授業参観（訂正）", true, true
	f.Files = []announce.Upload{pdf("d.pdf"), pdf("e.pdf")}
	if _, err := s.Surveys.UpdateFromForm(tannin, id, f, []int64{sv.Handouts[1].ID}); err != nil {
		t.Fatal(err)
	}
	sv, err = s.Surveys.Get(tannin, id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	positions := map[int]bool{}
	for _, h := range sv.Handouts {
		names = append(names, h.Name.Reveal())
		positions[h.Position] = true
	}
	if sv.Title.Reveal() != "授業参観（訂正）" || len(sv.Handouts) != 4 || len(positions) != 4 || len(sv.Questions) != 3 ||
		sv.Questions[1].Kind != survey.Short || sv.Questions[2].Kind != survey.Number || sv.Audience.Classes[0] != class11 {
		t.Errorf("after the edit: %q, handouts %v, questions %+v, audience %+v", sv.Title.Reveal(), names, sv.Questions, sv.Audience)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_handout WHERE survey_id = $1`, id); n != 4 {
		t.Errorf("stored handouts: %d", n)
	}

	// A scheduled survey keeps a time; a wording edit is not what it gets.
	f = form()
	f.ScheduledAt = time.Now().Add(24 * time.Hour).Truncate(time.Minute)
	id2, _, err := s.Surveys.CreateFromForm(tannin, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, id2, false); err != nil {
		t.Fatal(err)
	}
	f = form()
	e, err := s.Surveys.UpdateFromForm(tannin, id2, f, nil)
	if apperr.FieldsOf(err)["scheduled_at"] == "" || e.WordingOnly {
		t.Errorf("scheduled without a time: %v (wording only %v)", err, e.WordingOnly)
	}
	f.ScheduledAt = time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	if _, err := s.Surveys.UpdateFromForm(tannin, id2, f, nil); err != nil {
		t.Errorf("moved: %v", err)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM river_job WHERE kind = 'survey.start' AND args->>'survey_id' = $1`, apptest.Itoa(id2)); n != 2 {
		t.Errorf("start jobs after the move: %d, want the old (which will do nothing) and the new", n)
	}
	// Cancelled: nothing more to edit.
	if err := s.Surveys.Cancel(tannin, id2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.OpenEdit(tannin, id2); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("edit a cancelled survey: %v", err)
	}
}
