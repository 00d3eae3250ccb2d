// Package demo creates the dev mode's demonstration data — a board of education with an
// elementary and a junior high school sharing one LINE channel — and connects that
// channel to the LINE simulator. Running it again changes nothing.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// BoardName is the demo board's name.
const BoardName = "みどり市教育委員会"

// ChannelID is the demo LINE channel's ID (in the simulator).
const ChannelID = "2000000001"

// Schools are the demo schools.
var Schools = []school.School{
	{Name: "みどり市立さくら小学校", Type: school.Elementary, District: "さくら学区"},
	{Name: "みどり市立ひかり中学校", Type: school.JuniorHigh, District: "ひかり学区"},
}

// Seed creates the demo board, schools and channel if missing, registers the channel
// with the simulator (webhooks to webhookBase/line/webhook/ID) and syncs its rich menus.
func Seed(ctx context.Context, s *app.Services, sim *linesim.Sim, webhookBase string) (line.Channel, error) {
	op := audit.OperatorActor
	b, _, err := s.Schools.EnsureBoard(ctx, op, BoardName)
	if err != nil {
		return line.Channel{}, fmt.Errorf("demo: %w", err)
	}
	var schools []school.School
	for _, sc := range Schools {
		got, _, err := s.Schools.EnsureSchool(ctx, op, fmt.Sprint(b.ID), sc)
		if err != nil {
			return line.Channel{}, fmt.Errorf("demo: %w", err)
		}
		schools = append(schools, got)
	}
	// Keep the channel's credentials across restarts: they live (encrypted) in the
	// database; only a new database gets new ones.
	ch, err := s.LINE.FindChannelByLineID(ctx, ChannelID)
	if apperr.KindOf(err) == apperr.NotFound {
		ch = line.Channel{LineChannelID: ChannelID, Secret: vault.Personal(randomHex(16)), AccessToken: vault.Personal(randomHex(32))}
	} else if err != nil {
		return line.Channel{}, fmt.Errorf("demo: %w", err)
	}
	for _, sc := range schools {
		if _, err := s.LINE.SetChannel(ctx, op, sc.ID, b.ID, ch); err != nil {
			return line.Channel{}, fmt.Errorf("demo: %w", err)
		}
	}
	if ch, err = s.LINE.FindChannelByLineID(ctx, ChannelID); err != nil {
		return line.Channel{}, fmt.Errorf("demo: %w", err)
	}
	if err := sim.AddChannel(linesim.ChannelConfig{ID: ch.LineChannelID, Secret: ch.Secret.Reveal(), AccessToken: ch.AccessToken.Reveal(),
		WebhookURL: webhookBase + "/line/webhook/" + ch.LineChannelID, Name: "みどり市 学校連絡"}); err != nil {
		return line.Channel{}, fmt.Errorf("demo: simulator: %w", err)
	}
	if _, err := s.LINE.SyncRichMenus(ctx, ch); err != nil {
		return line.Channel{}, fmt.Errorf("demo: rich menus: %w", err)
	}
	return ch, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
