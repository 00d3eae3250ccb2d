package absence_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// failingReports is the absence store with the parent's recent reports unreadable:
// the page shown after a submission cannot be loaded.
type failingReports struct {
	absence.Store
}

var errUnreadable = errors.New("recent reports unreadable")

func (failingReports) FindGuardianReports(context.Context, int64, time.Time) ([]absence.Report, error) {
	return nil, errUnreadable
}

// parentWorld is the app with the demo channel, and a parent of さくら小学校 1年1組
// registered with the class code.
type parentWorld struct {
	app  *app.App
	sim  *linesim.Sim
	ch   line.Channel
	user linesim.User
}

func startParentWorld(t *testing.T) *parentWorld {
	t.Helper()
	ctx := context.Background()
	sim := linesim.New(linesim.Options{AllowHTTPURLs: true})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	simURL, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	keyset, key := vaulttest.Keyset(t)
	cfg := &config.Config{DatabaseURL: pgtest.NewDBURL(t), Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: simURL, LineDataAPIURL: simURL}
	a := app.New(cfg, logging.New(&strings.Builder{}, slog.LevelWarn))
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	ch, err := demo.Seed(ctx, a.Services(), sim, a.URL())
	if err != nil {
		t.Fatal(err)
	}
	w := &parentWorld{app: a, sim: sim, ch: ch}
	s := a.Services()

	// The school's administrator reads the class code from the school's letter.
	sc, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.Staff.Bootstrap(ctx, staff.NewStaff{BoardID: sc.BoardID, SchoolID: sc.ID, Role: authz.SchoolAdmin, Login: "submit.admin", Name: "校長"})
	if err != nil {
		t.Fatal(err)
	}
	actor, err := s.Staff.Actor(ctx, inv.Staff.ID, inv.Staff.SessionEpoch)
	if err != nil {
		t.Fatal(err)
	}
	class, err := s.Schools.CreateClass(authz.WithActor(ctx, actor), sc.ID, school.Class{Year: sc.CurrentYear, Grade: 1, Name: "9組"})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := s.Registration.Codes(authz.WithActor(ctx, actor), sc.BoardID, sc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var code string
	for _, c := range codes {
		if c.ClassID == class.ID {
			code = c.Code.Reveal()
		}
	}

	if w.user, err = sim.AddUser(linesim.User{DisplayName: "保護者", Language: "ja"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Follow(ch.LineChannelID, w.user.ID); err != nil {
		t.Fatal(err)
	}
	token := w.linkToken(t, "/p/register/")
	p, err := s.Registration.Open(ctx, parentlink.PurposeRegister, token, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Registration.Submit(ctx, parentlink.PurposeRegister, token, p.Visit.Browser, registration.Form{Consent: true, Name: "青木 春子",
		Relationship: "mother", Children: []registration.ChildForm{{Name: "青木 一郎", SchoolID: sc.ID, ClassID: class.ID, Code: code}}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// linkToken waits for the bot's message with a link under prefix and returns its token.
func (w *parentWorld) linkToken(t *testing.T, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var link string
	_, err := w.sim.WaitChat(ctx, w.ch.LineChannelID, w.user.ID, func(items []linesim.ChatItem) bool {
		for _, it := range items {
			for _, a := range it.Actions {
				if a.Type == "uri" && strings.Contains(a.URI, prefix) {
					link = a.URI
				}
			}
		}
		return link != ""
	})
	if err != nil {
		t.Fatalf("waiting for a link to %s: %v", prefix, err)
	}
	return path.Base(link)
}

// count reads one number from the database.
func (w *parentWorld) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := w.app.Pool().QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSubmitFormIsOneTransaction: when the page that confirms a report cannot be read,
// the parent is told of the failure and nothing is kept (neither the report nor its LINE
// confirmation), so sending the form again stores the report once.
func TestSubmitFormIsOneTransaction(t *testing.T) {
	t.Parallel()
	w := startParentWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	if _, err := w.sim.Postback(w.ch.LineChannelID, w.user.ID, line.PostbackData("menu.absence", ""), nil); err != nil {
		t.Fatal(err)
	}
	token := w.linkToken(t, "/p/absence/")
	pg, err := s.Absence.Open(ctx, token, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Children) != 1 {
		t.Fatalf("children on the form: %d, want 1", len(pg.Children))
	}
	browser := pg.Visit.Browser
	form := absence.Form{Kind: "absent", From: pg.FirstDay.Format("2006-01-02"), Reason: "family",
		Children: []int64{pg.Children[0].ID}, Key: "a-form-key-of-some-length"}
	outbound := w.count(t, `SELECT count(*) FROM line_outbound`)

	broken := &absence.Service{Tx: s.Absence.Tx, Store: failingReports{s.Absence.Store}, Guardians: s.Absence.Guardians, Links: s.Absence.Links,
		Friends: s.Absence.Friends, Outbox: s.Absence.Outbox, Audit: s.Absence.Audit, Live: s.Absence.Live, T: s.Absence.T}
	sub, err := broken.SubmitForm(ctx, token, browser, form)
	if !errors.Is(err, errUnreadable) {
		t.Fatalf("submit with the page unreadable: %v, want the failure", err)
	}
	if k := apperr.KindOf(err); k == apperr.Invalid || k == apperr.Conflict {
		t.Errorf("failure reported as a refused form (%v)", k)
	}
	if len(sub.Reports) != 0 {
		t.Errorf("reports confirmed after a failure: %d", len(sub.Reports))
	}
	if n := w.count(t, `SELECT count(*) FROM absence_report`); n != 0 {
		t.Errorf("reports stored by the failed submission: %d, want 0", n)
	}
	if n := w.count(t, `SELECT count(*) FROM line_outbound`); n != outbound {
		t.Errorf("LINE messages queued by the failed submission: %d, want 0", n-outbound)
	}

	// Sent again (the same form, the same key), it is stored and confirmed once; a
	// double tap after it stores nothing more.
	for range 2 {
		sub, err = s.Absence.SubmitForm(ctx, token, browser, form)
		if err != nil {
			t.Fatal(err)
		}
		if len(sub.Reports) != 1 || len(sub.Page.Recent) != 1 {
			t.Fatalf("after sending again: %d reports, %d on the page; want 1 and 1", len(sub.Reports), len(sub.Page.Recent))
		}
	}
	if n := w.count(t, `SELECT count(*) FROM absence_report`); n != 1 {
		t.Errorf("reports stored: %d, want 1", n)
	}
}

// TestSubmitFormRefusedShowsThePage: a refused form returns the refusal with the page
// to show it on, and stores nothing.
func TestSubmitFormRefusedShowsThePage(t *testing.T) {
	t.Parallel()
	w := startParentWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	if _, err := w.sim.Postback(w.ch.LineChannelID, w.user.ID, line.PostbackData("menu.absence", ""), nil); err != nil {
		t.Fatal(err)
	}
	token := w.linkToken(t, "/p/absence/")
	pg, err := s.Absence.Open(ctx, token, "")
	if err != nil {
		t.Fatal(err)
	}
	form := absence.Form{Kind: "absent", From: pg.FirstDay.Format("2006-01-02"), Reason: "family", Key: "a-form-key-of-some-length"}
	sub, err := s.Absence.SubmitForm(ctx, token, pg.Visit.Browser, form)
	if apperr.FieldsOf(err)["child"] == "" {
		t.Fatalf("form without a child: %v, want the child field refused", err)
	}
	if len(sub.Page.Children) != 1 || len(sub.Reports) != 0 {
		t.Errorf("page after the refusal: %d children, %d reports; want 1 and 0", len(sub.Page.Children), len(sub.Reports))
	}
	if n := w.count(t, `SELECT count(*) FROM absence_report`); n != 0 {
		t.Errorf("reports stored by a refused form: %d, want 0", n)
	}
}
