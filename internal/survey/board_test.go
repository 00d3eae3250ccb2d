package survey_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/survey"
)

// TestBoardSurveyFollowedUpBySchools: the board sends an attendance check to two
// schools. Each school's staff find it in their list and see their own school's answers
// as their duties allow (the homeroom teacher their class, the principal the school),
// never the other school's; they may not remind, edit or cancel the board's survey. A
// school the survey did not reach does not see it at all.
func TestBoardSurveyFollowedUpBySchools(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	hikariID, classA, _ := apptest.SchoolAndClass(t, w, demo.Schools[1].Name, "1年A組")
	sakuraCodes, hikariCodes := apptest.ClassCodes(t, w, sakuraID), apptest.ClassCodes(t, w, hikariID)
	parentIn(t, w, sakuraID, class11, sakuraCodes[class11], "田中 直子", "田中 大輝")
	parentIn(t, w, sakuraID, class12, sakuraCodes[class12], "鈴木 良子", "鈴木 花")
	parentIn(t, w, hikariID, classA, hikariCodes[classA], "山本 健", "山本 りく")

	board := apptest.SignedInAs(t, w, "midori.kyoiku")
	c := survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{Schools: []int64{sakuraID, hikariID}}, Title: "引き取り訓練",
		Deadline: time.Now().Add(72 * time.Hour), Questions: survey.AttendanceQuestions(func(id string) string { return s.Registration.T("ja", id, nil) }, false, false)}
	id, err := s.Surveys.Create(board, c, "みどり市立さくら小学校、みどり市立ひかり中学校")
	if err != nil {
		t.Fatal(err)
	}
	// Before it has reached anyone, the schools do not see it.
	if _, err := s.Surveys.Get(apptest.SignedInAs(t, w, "sakura.kocho"), id); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("a school saw the board's draft: %v", err)
	}
	if _, err := s.Surveys.Send(board, id, true); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, w, `SELECT count(*) FROM survey WHERE state <> 'sent'`)

	children := func(r survey.Results) []string {
		var out []string
		for _, u := range append(append([]survey.ResultUnit{}, r.Answers...), r.Pending...) {
			out = append(out, u.Child())
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		login string
		want  []string
	}{
		{"sakura.kocho", []string{"田中 大輝", "鈴木 花"}},
		{"sakura.tannin11", []string{"田中 大輝"}},
		{"hikari.kyoto", []string{"山本 りく"}},
		{"midori.kyoiku", []string{"山本 りく", "田中 大輝", "鈴木 花"}},
	} {
		ctx := apptest.SignedInAs(t, w, tc.login)
		list, err := s.Surveys.List(ctx)
		if err != nil || !slices.ContainsFunc(list, func(sv survey.Survey) bool { return sv.ID == id }) {
			t.Errorf("%s: the board's survey is not in the list (%v)", tc.login, err)
		}
		r, err := s.Surveys.OpenResults(ctx, id)
		if err != nil {
			t.Errorf("%s: results: %v", tc.login, err)
			continue
		}
		if got := children(r); !slices.Equal(got, tc.want) {
			t.Errorf("%s sees %v, want %v", tc.login, got, tc.want)
		}
	}
	// Seeing is not changing.
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	if _, err := s.Surveys.Remind(kocho, id, true); err == nil {
		t.Error("a school reminded the board's families")
	}
	if _, err := s.Surveys.OpenEdit(kocho, id); err == nil {
		t.Error("a school opened the board's survey for editing")
	}
	if err := s.Surveys.Cancel(kocho, id); err == nil {
		t.Error("a school cancelled the board's survey")
	}
}
