package line_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/vault"
)

// TestSharedChannelMessagesNameTheSchool: through a LINE channel that serves several
// schools (the demo's two), a school's announcement, the board's safety alert and a
// teacher's reply name who sends them (【お知らせ】みどり市立さくら小学校　…); once the
// channel serves one school only, the same messages read as before, without a name.
func TestSharedChannelMessagesNameTheSchool(t *testing.T) {
	t.Parallel()
	w, _ := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	hikariID, _, _ := apptest.SchoolAndClass(t, w, demo.Schools[1].Name, "1年A組")
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	parent, _ := apptest.RegisteredParent(t, w, "小林 舞", "小林 陽", code)
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	board := apptest.SignedInAs(t, w, "midori.kyoiku")

	send := func(who context.Context, c announce.Compose, label string) {
		t.Helper()
		id, err := s.Announce.Create(who, c, label)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Announce.Send(who, id, false); err != nil {
			t.Fatal(err)
		}
		apptest.WaitSent(t, w, id, 30*time.Second)
	}
	notice := func(title string) {
		t.Helper()
		send(kocho, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
			Title: title, Body: "本文です。"}, "1年1組")
	}
	alert := func(title string) {
		t.Helper()
		send(board, announce.Compose{Kind: announce.Safety, Audience: announce.Audience{Schools: []int64{sakuraID}}, Title: title,
			Safety: announce.SafetyFields{OccurredAt: "12月1日 7時ごろ", Place: "さくら公園", Details: "不審な車", Response: "集団下校"}}, "さくら小学校")
	}
	// The parent writes to the homeroom teacher, who answers.
	apptest.Pick(t, w, parent, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, parent.ID, "質問があります"); err != nil {
		t.Fatal(err)
	}
	var conv int64
	for deadline := time.Now().Add(15 * time.Second); conv == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		err := s.Pool.QueryRow(ctx, `SELECT id FROM conversation WHERE target = 'homeroom' AND class_id = $1`, class11).Scan(&conv)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
	}
	if conv == 0 {
		t.Fatal("the parent's message opened no conversation")
	}
	reply := func(text string) {
		t.Helper()
		if err := s.Inbox.Reply(tannin, conv, text); err != nil {
			t.Fatal(err)
		}
	}

	// Shared: both demo schools use the demo channel.
	notice("遠足の持ち物")
	waitBotExact(t, w, parent.ID, "【お知らせ】みどり市立さくら小学校　遠足の持ち物\n\n本文です。")
	alert("不審者情報")
	waitBotPrefix(t, w, parent.ID, "【安全情報】みどり市教育委員会　不審者情報\n\n")
	reply("雨天決行です。")
	waitBotExact(t, w, parent.ID, "【みどり市立さくら小学校 1年1組 担任】\n雨天決行です。")

	// ひかり中学校 gets a channel of its own: さくら's serves さくら alone.
	boardID := mustBoard(t, w)
	own := line.Channel{LineChannelID: "2000999001", Secret: vault.Personal(strings.Repeat("5", 32)), AccessToken: vault.Personal(strings.Repeat("t", 40))}
	if _, err := s.LINE.SetChannel(ctx, audit.OperatorActor, hikariID, boardID, own); err != nil {
		t.Fatal(err)
	}
	notice("持ち物の追加")
	waitBotExact(t, w, parent.ID, "【お知らせ】持ち物の追加\n\n本文です。")
	alert("不審者情報（続報）")
	waitBotPrefix(t, w, parent.ID, "【安全情報】不審者情報（続報）\n\n")
	reply("承知しました。")
	waitBotExact(t, w, parent.ID, "【1年1組 担任】\n承知しました。")
}

func mustBoard(t *testing.T, w *apptest.LineWorld) int64 {
	t.Helper()
	var id int64
	if err := w.App.Services().Pool.QueryRow(context.Background(), `SELECT id FROM board WHERE name = $1`, demo.BoardName).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// waitBotExact waits until the bot has sent user exactly the text want.
func waitBotExact(t *testing.T, w *apptest.LineWorld, user, want string) {
	t.Helper()
	waitBot(t, w, user, want, func(text string) bool { return text == want })
}

// waitBotPrefix waits until the bot has sent user a text starting with want.
func waitBotPrefix(t *testing.T, w *apptest.LineWorld, user, want string) {
	t.Helper()
	waitBot(t, w, user, want, func(text string) bool { return strings.HasPrefix(text, want) })
}

func waitBot(t *testing.T, w *apptest.LineWorld, user, want string, match func(string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	items, err := w.Sim.WaitChat(ctx, w.Ch.LineChannelID, user, func(items []linesim.ChatItem) bool {
		for _, it := range items {
			if it.From == linesim.FromBot && match(it.Text) {
				return true
			}
		}
		return false
	})
	if err != nil {
		var got []string
		for _, it := range items {
			if it.From == linesim.FromBot {
				got = append(got, it.Text)
			}
		}
		t.Fatalf("waiting for %q: %v; the bot sent %q", want, err, got)
	}
}
