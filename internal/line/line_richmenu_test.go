package line_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/vault"
)

func TestRichMenuSyncIsIdempotentAndLinks(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t) // the demo seed synced once already
	svc := w.App.Services().LINE
	created, err := svc.SyncRichMenus(context.Background(), w.Ch)
	if err != nil {
		t.Fatal(err)
	}
	if created != 0 {
		t.Errorf("second sync created %d menus", created)
	}
	menus := w.Sim.RichMenus(w.Ch.LineChannelID)
	if len(menus) != 2 {
		t.Fatalf("LINE has %d menus, want exactly the guest and member menus", len(menus))
	}
	var member linesim.RichMenu
	for _, m := range menus {
		if strings.HasPrefix(m.Name, "renraku-member") {
			member = m
		}
	}
	if member.Width != 2500 || member.Height != 1686 || len(member.Areas) != 6 {
		t.Fatalf("member menu = %dx%d with %d areas", member.Width, member.Height, len(member.Areas))
	}

	u := w.NewParent(t, "伊藤")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)
	f, err := svc.FindFriendByUserID(context.Background(), w.Ch.ID, vault.Personal(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.LinkRichMenu(context.Background(), f.ID, line.MenuMember); err != nil {
		t.Fatal(err)
	}
	if m, ok := w.Sim.CurrentRichMenu(w.Ch.LineChannelID, u.ID); !ok || m.ID != member.ID {
		t.Fatalf("after linking: %v %v", m.Name, ok)
	}
	// Tapping 連絡する sends the versioned postback, shown in the chat as the label.
	res, err := w.Sim.Tap(w.Ch.LineChannelID, u.ID, member.Areas[0].Action)
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("tap: %+v %v", res, err)
	}
	// (Not registered: the answer is the registration link.)
	apptest.WaitBotText(t, w, u.ID, "下のボタンから登録してください", 1)
	if err := svc.LinkRichMenu(context.Background(), f.ID, line.MenuGuest); err != nil {
		t.Fatal(err)
	}
	if m, ok := w.Sim.CurrentRichMenu(w.Ch.LineChannelID, u.ID); !ok || !strings.HasPrefix(m.Name, "renraku-guest") {
		t.Fatalf("after unlinking: %q (linked: %v)", m.Name, ok)
	}
}

func TestUnsupportedMessagesGetPoliteReply(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u := w.NewParent(t, "渡辺")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "友だち追加", 1)
	if _, err := w.Sim.SendSticker(w.Ch.LineChannelID, u.ID, "446", "1988"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "この種類のメッセージには対応していません", 1)
	// Unfollow marks the friend inactive: nothing more is pushed.
	if _, err := w.Sim.Unfollow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		var following bool
		err := w.App.Pool().QueryRow(ctx, `SELECT following FROM line_friend`).Scan(&following)
		if err != nil && ctx.Err() == nil {
			t.Fatalf("reading whether the friend follows: %v", err)
		}
		if err == nil && !following {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("unfollow not recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
