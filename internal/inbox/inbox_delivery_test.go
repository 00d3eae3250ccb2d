package inbox_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
)

// TestReplyDeliveryFaults: a reply LINE refuses shows 失敗 with a resend button that
// delivers it; a reply queued while no instance runs is delivered once after the
// restart; the month's usage counts it.
func TestReplyDeliveryFaults(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	p1, _ := apptest.RegisteredParent(t, w, "小林 舞", "小林 陽", code)
	apptest.Pick(t, w, p1, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "質問があります"); err != nil {
		t.Fatal(err)
	}
	tannin := apptest.NewStaffClient(t, w.App.URL())
	tannin.SignIn("sakura.tannin11", demo.Password)
	var thread string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && thread == ""; time.Sleep(100 * time.Millisecond) {
		thread, _ = tannin.Get("/staff/inbox").Doc.Find(`[data-testid="conversation"] a`).Attr("href")
	}
	if thread == "" {
		t.Fatal("no conversation")
	}

	// LINE refuses the push (400): the reply shows 失敗 with 再送, which delivers it.
	w.Sim.FailNext(linesim.EndpointPush, 1, http.StatusBadRequest)
	if r := tannin.Post(thread+"/reply", url.Values{"body": {"お答えします"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.Status)
	}
	var retry string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && retry == ""; time.Sleep(100 * time.Millisecond) {
		retry, _ = tannin.Get(thread).Doc.Find(`[data-testid="retry"]`).Parent().Attr("action")
	}
	if retry == "" {
		t.Fatalf("no resend button: %s", apptest.Text(tannin.Get(thread)))
	}
	if r := tannin.Post(retry, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("resend: %d", r.Status)
	}
	apptest.WaitBotText(t, w, p1.ID, "【みどり市立さくら小学校 1年1組 担任】\nお答えします", 1)

	// No instance running: the reply is queued durably and sent once after the restart.
	cfg := *w.App.Config()
	if err := w.App.Close(ctx); err != nil {
		t.Fatal(err)
	}
	tools, err := app.OpenTools(ctx, &cfg, logging.New(io.Discard, slog.LevelError))
	if err != nil {
		t.Fatal(err)
	}
	st, err := tools.Staff.FindByLogin(ctx, "sakura.tannin11")
	if err != nil {
		t.Fatal(err)
	}
	a, err := tools.Staff.Actor(ctx, st.ID, st.SessionEpoch)
	if err != nil {
		t.Fatal(err)
	}
	convID := thread[strings.LastIndex(thread, "/")+1:]
	var id int64
	for _, ch := range convID {
		id = id*10 + int64(ch-'0')
	}
	if err := tools.Inbox.Reply(authz.WithActor(ctx, a), id, "再起動をまたぐ返信"); err != nil {
		t.Fatal(err)
	}
	tools.Close()
	cfg.Addr = "127.0.0.1:0"
	restarted := app.New(&cfg, logging.New(io.Discard, slog.LevelError))
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = restarted.Close(context.Background()) })
	apptest.WaitBotText(t, w, p1.ID, "再起動をまたぐ返信", 1)
	apptest.WaitQuiet(t, restarted.Pool())
	n := 0
	for _, it := range w.Sim.Chat(w.Ch.LineChannelID, p1.ID) {
		if strings.Contains(it.Text, "再起動をまたぐ返信") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}

	// The school's channel page counts the teachers' replies this month.
	usage, err := restarted.Services().LINE.MonthlyUsage(kochoOn(t, restarted), w.Ch.BoardID, sakuraID, time.Now().AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	replies := 0
	for _, u := range usage.Sent {
		if u.Purpose == "staff_reply" {
			replies += u.Count
		}
	}
	if replies != 2 || !usage.QuotaKnown {
		t.Errorf("usage: %+v", usage)
	}
}

func kochoOn(t *testing.T, a *app.App) context.Context {
	t.Helper()
	st, err := a.Services().Staff.FindByLogin(context.Background(), "sakura.kocho")
	if err != nil {
		t.Fatal(err)
	}
	act, err := a.Services().Staff.Actor(context.Background(), st.ID, st.SessionEpoch)
	if err != nil {
		t.Fatal(err)
	}
	return authz.WithActor(context.Background(), act)
}
