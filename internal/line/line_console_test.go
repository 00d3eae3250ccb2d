package line_test

import (
	"context"
	"testing"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
)

func TestChannelConsole(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	logins, err := demo.SeedStaff(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(logins) < 8 {
		t.Fatalf("demo staff: %d logins", len(logins))
	}
	sakura, err := s.Schools.FindSchool(context.Background(), demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	admin := apptest.SignedInAs(t, w, "sakura.kocho")

	st, err := s.LINE.ChannelStatus(admin, sakura.BoardID, sakura.ID)
	if err != nil || !st.Configured || st.ChannelID != demo.ChannelID {
		t.Fatalf("status: %+v, %v", st, err)
	}
	info, err := s.LINE.TestChannel(admin, sakura.BoardID, sakura.ID)
	if err != nil || info.DisplayName != "みどり市 学校連絡" || len(info.BasicID) != 8 {
		t.Fatalf("test connection: %+v, %v", info, err)
	}

	// Bad input: a message per field, nothing stored.
	err = s.LINE.SaveChannel(admin, sakura.BoardID, sakura.ID, "12ab", "short", "has space in it 0123456789")
	f := apperr.FieldsOf(err)
	if f["channel_id"] == "" || f["secret"] == "" || f["token"] == "" {
		t.Fatalf("bad input: %v", err)
	}
	// A new token that LINE does not know (the secret is kept when left empty).
	if err := s.LINE.SaveChannel(admin, sakura.BoardID, sakura.ID, demo.ChannelID, "", "unknown-token-0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LINE.TestChannel(admin, sakura.BoardID, sakura.ID); apperr.MessageIDOf(err) != "line.channel.token_rejected" {
		t.Fatalf("test with a rejected token: %v", err)
	}
	ch, err := s.LINE.FindChannelByLineID(context.Background(), demo.ChannelID)
	if err != nil || ch.Secret.Reveal() != w.Ch.Secret.Reveal() {
		t.Fatalf("secret not kept: %v", err)
	}
	if err := s.LINE.SaveChannel(admin, sakura.BoardID, sakura.ID, demo.ChannelID, "", w.Ch.AccessToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LINE.TestChannel(admin, sakura.BoardID, sakura.ID); err != nil {
		t.Fatalf("test after restoring the token: %v", err)
	}

	// Another school's administrator and a teacher are refused.
	if _, err := s.LINE.ChannelStatus(apptest.SignedInAs(t, w, "hikari.kyoto"), sakura.BoardID, sakura.ID); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("other school's admin: %v", err)
	}
	if err := s.LINE.SaveChannel(apptest.SignedInAs(t, w, "sakura.tannin11"), sakura.BoardID, sakura.ID, demo.ChannelID, "", ""); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("teacher: %v", err)
	}
	var tests int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_event WHERE action = 'line.channel.test'`).Scan(&tests); err != nil || tests != 3 {
		t.Errorf("%d channel test audit rows (%v)", tests, err)
	}
	var calls int
	for _, c := range w.Sim.Calls() {
		if c.Endpoint == linesim.EndpointBotInfo {
			calls++
		}
	}
	if calls != 3 {
		t.Errorf("%d bot info calls", calls)
	}
}
