package linesim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/renraku/renraku/internal/linesim"
)

func TestWaitChat(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	fromBot := func(chat []linesim.ChatItem) bool { return len(chat) > 0 && chat[len(chat)-1].From == linesim.FromBot }

	done := make(chan []linesim.ChatItem)
	go func() {
		chat, err := f.sim.WaitChat(waitCtx(t), testChannelID, u.ID, fromBot)
		if err != nil {
			t.Error(err)
		}
		done <- chat
	}()
	if _, _, err := f.api(t, testToken).PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: u.ID,
		Messages: []messaging_api.MessageInterface{textMessage("届きました")}}, ""); err != nil {
		t.Fatal(err)
	}
	if chat := <-done; chat[len(chat)-1].Text != "届きました" {
		t.Errorf("chat = %+v", chat)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.sim.WaitChat(ctx, testChannelID, u.ID, func([]linesim.ChatItem) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestChatItems(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	msgs := []messaging_api.MessageInterface{
		&messaging_api.TemplateMessage{AltText: "確認", Template: &messaging_api.ConfirmTemplate{Text: "出席しますか?",
			Actions: []messaging_api.ActionInterface{
				&messaging_api.MessageAction{Label: "はい", Text: "はい"},
				&messaging_api.MessageAction{Label: "いいえ", Text: "いいえ"},
			}}},
		&messaging_api.ImageMessage{OriginalContentUrl: "https://example.com/a.png", PreviewImageUrl: "https://example.com/p.png"},
		&messaging_api.StickerMessage{PackageId: "446", StickerId: "1988"},
	}
	if _, _, err := f.api(t, testToken).PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: u.ID, Messages: msgs}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.SendText(testChannelID, u.ID, "了解です"); err != nil {
		t.Fatal(err)
	}
	f.rc.next(t)
	type view struct {
		From                 linesim.Direction
		Kind, Text, AltText  string
		ImageURL             string
		PackageID, StickerID string
		Actions              []linesim.Action
		Via                  string
	}
	var got []view
	for _, it := range f.sim.Chat(testChannelID, u.ID) {
		got = append(got, view{it.From, it.Kind, it.Text, it.AltText, it.ImageURL, it.PackageID, it.StickerID, it.Actions, it.Via})
	}
	want := []view{
		{From: linesim.FromBot, Kind: "template", Text: "出席しますか?", AltText: "確認", Via: "push", Actions: []linesim.Action{
			{Type: "message", Label: "はい", Text: "はい"}, {Type: "message", Label: "いいえ", Text: "いいえ"}}},
		{From: linesim.FromBot, Kind: "image", ImageURL: "https://example.com/p.png", Via: "push"},
		{From: linesim.FromBot, Kind: "sticker", PackageID: "446", StickerID: "1988", Via: "push"},
		{From: linesim.FromUser, Kind: "text", Text: "了解です", Via: "message"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chat (-want +got):\n%s", diff)
	}
}
