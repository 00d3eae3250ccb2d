package registration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/survey"
)

// TestWithdrawalAndLeavingRemoveSurveyAnswers: survey answers go with the families who
// leave. A withdrawing parent's family units and recipients go with them, and so do the
// units of their child deleted with them; the child another guardian keeps registered
// keeps their unit, but the answer and draft the withdrawn parent gave are wiped (one
// deletion record, counts only). The other guardian's answers stay. A child who moves
// away (転出, data deleted under the default policy) loses their units, and their only
// guardian's family unit goes with the guardian.
func TestWithdrawalAndLeavingRemoveSurveyAnswers(t *testing.T) {
	t.Parallel()
	w, _ := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	apptest.CityFamilies(t, w, 3, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	g, c := apptest.FamilyChildren(t, w)
	// The first parent also looks after the second family's child: c[0] is theirs
	// alone, c[1] is shared with g[1]. The third family moves away later.
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, err := s.Registration.Store.LinkChild(ctx, g[0], c[1], registration.Verified, "code")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	compose := func(title string, perChild bool) survey.Compose {
		return survey.Compose{Kind: survey.KindSurvey, Audience: survey.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
			Title: title, PerChild: perChild, Deadline: time.Now().Add(72 * time.Hour),
			Questions: []survey.Question{{Kind: survey.Long, Text: "ご意見"}, {Kind: survey.Single, Text: "参加",
				Choices: []survey.Choice{{Label: "はい"}, {Label: "いいえ"}}}}}
	}
	var perChild, perFamily int64
	for _, x := range []struct {
		id       *int64
		title    string
		perChild bool
	}{{&perChild, "面談の希望", true}, {&perFamily, "給食アンケート", false}} {
		if *x.id, err = s.Surveys.Create(tannin, compose(x.title, x.perChild), "1年1組"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Surveys.Send(tannin, *x.id, false); err != nil {
			t.Fatal(err)
		}
		apptest.WaitSurveySent(t, w, *x.id)
	}
	answer := survey.Answers{"q1": {Text: "よろしくお願いします"}, "q2": {Choices: []string{"c1"}}}
	unit := func(child, guardian int64) int64 {
		if child != 0 {
			return apptest.SurveyUnit(t, w, perChild, child, 0)
		}
		return apptest.SurveyUnit(t, w, perFamily, 0, guardian)
	}
	shared := unit(c[1], 0)
	for _, u := range []struct{ unit, by int64 }{{unit(c[0], 0), g[0]}, {shared, g[0]}, {unit(c[2], 0), g[2]},
		{unit(0, g[0]), g[0]}, {unit(0, g[1]), g[1]}, {unit(0, g[2]), g[2]}} {
		apptest.SeedSurveyAnswer(t, w, u.unit, u.by, answer)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE survey_unit SET draft_enc = answers_enc WHERE id = $1`, shared); err != nil {
		t.Fatal(err)
	}
	otherFamily := unit(0, g[1])

	// The first parent withdraws.
	var link string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		var friendID int64
		if err := pgtx.Tx(ctx).QueryRow(ctx, `SELECT friend_id FROM guardian WHERE id = $1`, g[0]).Scan(&friendID); err != nil {
			return err
		}
		link, err = s.Registration.IssueLink(ctx, friendID, parentlink.PurposeUpdate)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Registration.Withdraw(ctx, link[strings.LastIndex(link, "/")+1:], ""); err != nil {
		t.Fatal(err)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE child_id = $1 OR guardian_id = $2`, c[0], g[0]); n != 0 {
		t.Errorf("%d units of the withdrawn parent and their deleted child remain", n)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_recipient WHERE guardian_id = $1`, g[0]); n != 0 {
		t.Errorf("the withdrawn parent is still a recipient of %d surveys", n)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE id = $1 AND answers_enc IS NULL AND answered_at IS NULL
		AND answered_by IS NULL AND draft_enc IS NULL`, shared); n != 1 {
		t.Error("the shared child's unit is gone, or keeps what the withdrawn parent gave")
	}
	if a := apptest.SurveyAnswer(t, w, otherFamily); a["q1"].Text != "よろしくお願いします" {
		t.Errorf("the other parent's answer: %v", a)
	}
	if n := apptest.Count(t, w, `SELECT COALESCE(sum(count), 0) FROM deletion_record WHERE category = 'survey_answer' AND reason = 'withdrawal'`); n != 3 {
		t.Errorf("withdrawal records of survey answers: %d, want 3 (two children's, one family's)", n)
	}

	// The third family's child moves away: their unit goes with them, and their
	// parent's family unit with the parent (left with no child).
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	if _, err := s.Registration.TransferOut(kocho, c[2]); err != nil {
		t.Fatal(err)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE child_id = $1 OR guardian_id = $2`, c[2], g[2]); n != 0 {
		t.Errorf("%d units of the family who moved away remain", n)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_recipient WHERE guardian_id = $1`, g[2]); n != 0 {
		t.Error("the parent who moved away is still a recipient")
	}
	// What is left: the shared child's unit (unanswered) and the other family's.
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit`); n != 2 {
		t.Errorf("%d units left, want 2", n)
	}
}
