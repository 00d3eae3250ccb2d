package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// RotationWorld is a database with a row in every encrypted column, each written by
// the store that owns the column (so with the AD that store uses), and the keyset
// file it was written under.
type RotationWorld struct {
	*stafftest.World
	Path string
	M    vault.Master

	channel   line.Channel
	friend    line.Friend
	guardian  registration.Guardian
	childID   int64
	messageID int64
	announce  announce.Announcement
	surveyID  int64
	unitID    int64
}

// NewRotationWorld builds a staff world on pool under a fresh keyset.
func NewRotationWorld(t *testing.T, pool *pgxpool.Pool) *RotationWorld {
	t.Helper()
	path, key := vaulttest.Keyset(t)
	m, err := vault.MasterFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(path, m)
	if err != nil {
		t.Fatal(err)
	}
	return &RotationWorld{World: stafftest.Build(t, pool, v), Path: path, M: m}
}

// Seed runs fn in a transaction, failing the test on error.
func (w *RotationWorld) Seed(t *testing.T, what string, fn func(ctx context.Context) error) {
	t.Helper()
	ctx := context.Background()
	if err := w.Tx.InTx(ctx, func(ctx context.Context) error { return fn(ctx) }); err != nil {
		t.Fatalf("seed %s: %v", what, err)
	}
}

func (w *RotationWorld) MustChannel(t *testing.T) line.Channel {
	t.Helper()
	if w.channel.ID == 0 {
		w.channel = line.Channel{LineChannelID: "2001234567", BoardID: w.Board.ID, Secret: "channel-secret-rotation", AccessToken: "channel-token-rotation"}
		w.Seed(t, "channel", func(ctx context.Context) error {
			_, err := (&postgres.LineStore{Vault: w.Vault}).SaveChannel(ctx, &w.channel)
			return err
		})
	}
	return w.channel
}

func (w *RotationWorld) MustFriend(t *testing.T) line.Friend {
	t.Helper()
	if w.friend.ID == 0 {
		w.friend = line.Friend{ChannelID: w.MustChannel(t).ID, UserID: "U0123456789abcdef0123456789abcdef", Language: "ja", Following: true}
		w.Seed(t, "friend", func(ctx context.Context) error {
			return (&postgres.LineStore{Vault: w.Vault}).SaveFriendFollow(ctx, &w.friend, time.Now())
		})
	}
	return w.friend
}

func (w *RotationWorld) MustGuardian(t *testing.T) registration.Guardian {
	t.Helper()
	if w.guardian.ID == 0 {
		w.guardian = registration.Guardian{FriendID: w.MustFriend(t).ID, Name: "回転 花子", Relationship: "母", Nickname: "はなこ",
			Language: "ja", ConsentVersion: 1, ConsentedAt: time.Now()}
		w.Seed(t, "guardian", func(ctx context.Context) error {
			return (&postgres.RegistrationStore{Vault: w.Vault}).SaveGuardian(ctx, &w.guardian)
		})
	}
	return w.guardian
}

func (w *RotationWorld) MustChild(t *testing.T) int64 {
	t.Helper()
	if w.childID == 0 {
		w.Seed(t, "child", func(ctx context.Context) (err error) {
			w.childID, err = (&postgres.RegistrationStore{Vault: w.Vault}).FindOrCreateChild(ctx, w.SchoolA.ID, w.ClassA11.ID, "回転 太郎")
			return err
		})
	}
	return w.childID
}

func (w *RotationWorld) MustMessage(t *testing.T) int64 {
	t.Helper()
	if w.messageID == 0 {
		g, child := w.MustGuardian(t), w.MustChild(t)
		w.Seed(t, "message", func(ctx context.Context) error {
			s := &postgres.InboxStore{Vault: w.Vault}
			conv, err := s.OpenConversation(ctx, g.ID, inbox.Choice{Target: inbox.Homeroom, ChildID: child, ClassID: w.ClassA11.ID, SchoolID: w.SchoolA.ID})
			if err != nil {
				return err
			}
			m := inbox.Message{Direction: "in", Kind: "image", Body: "熱が出ました", LineMessageID: "123456", ContentState: "pending"}
			if err := s.AddMessage(ctx, conv, &m, 0); err != nil {
				return err
			}
			w.messageID = m.ID
			return nil
		})
	}
	return w.messageID
}

func (w *RotationWorld) MustAnnouncement(t *testing.T) announce.Announcement {
	t.Helper()
	if w.announce.ID == 0 {
		w.announce = announce.Announcement{BoardID: w.Board.ID, SchoolID: w.SchoolA.ID, Kind: "notice",
			Audience: announce.Audience{SchoolID: w.SchoolA.ID, Whole: true}, AudienceLabel: "全校",
			Title: "遠足のお知らせ", Body: "回転 太郎さんの学年は…", State: "draft", CreatedBy: w.AdminA.ID}
		w.Seed(t, "announcement", func(ctx context.Context) error {
			return (&postgres.AnnounceStore{Vault: w.Vault}).CreateAnnouncement(ctx, &w.announce)
		})
	}
	return w.announce
}

// MustSurvey returns a per-child survey of school A (with one question) and its unit
// for MustChild.
func (w *RotationWorld) MustSurvey(t *testing.T) (surveyID, unitID int64) {
	t.Helper()
	if w.surveyID == 0 {
		child := w.MustChild(t)
		sv := survey.Survey{BoardID: w.Board.ID, SchoolID: w.SchoolA.ID, Kind: survey.KindAttendance,
			Audience: survey.Audience{Schools: []int64{w.SchoolA.ID}}, AudienceLabel: "全校", Title: "授業参観の出欠",
			Body: "回転 太郎さんの保護者の方へ", PerChild: true, Deadline: time.Now().Add(72 * time.Hour), State: survey.Draft,
			CreatedBy: w.AdminA.ID, Questions: []survey.Question{{Key: "q1", Kind: survey.Single, Text: "参加されますか",
				Choices: []survey.Choice{{Key: "c1", Label: "参加"}, {Key: "c2", Label: "不参加"}}}}}
		w.Seed(t, "survey", func(ctx context.Context) error {
			if err := (&postgres.SurveyStore{Vault: w.Vault}).CreateSurvey(ctx, &sv); err != nil {
				return err
			}
			w.surveyID = sv.ID
			return pgtx.Tx(ctx).QueryRow(ctx, `INSERT INTO survey_unit (survey_id, child_id, school_id, class_id) VALUES ($1, $2, $3, $4) RETURNING id`,
				sv.ID, child, w.SchoolA.ID, w.ClassA11.ID).Scan(&w.unitID)
		})
	}
	return w.surveyID, w.unitID
}

// MustRotate rotates the keyset as `renraku keys rotate` does and has v pick it up as
// the job does; it returns the old and new primary key IDs.
func (w *RotationWorld) MustRotate(t *testing.T) (old, cur uint32) {
	t.Helper()
	old = w.Vault.PrimaryKeyID()
	cur, err := vault.Rotate(w.Path, w.M)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Vault.ReloadIfChanged(); err != nil || !changed {
		t.Fatalf("vault did not pick up the rotation: changed=%v, %v", changed, err)
	}
	if w.Vault.PrimaryKeyID() != cur {
		t.Fatalf("primary = %d after rotation, want %d", w.Vault.PrimaryKeyID(), cur)
	}
	return old, cur
}
