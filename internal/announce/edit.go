package announce

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/files"
	"github.com/renraku/renraku/internal/vault"
)

// Editable reports whether an announcement may still be changed at now: a draft, or a
// send scheduled for a time still to come. Once its sending has started (or it was sent
// for "now", or cancelled) what parents receive is fixed.
func (an Announcement) Editable(now time.Time) bool {
	switch an.State {
	case Draft:
		return true
	case Scheduled:
		return !an.ScheduledAt.IsZero() && an.ScheduledAt.After(now)
	}
	return false
}

// CanEdit reports whether an announcement may still be changed now (Editable at the
// service's time).
func (s *Service) CanEdit(an Announcement) bool { return an.Editable(s.now()) }

// errNotEditable is the refusal to change an announcement whose sending has started.
func errNotEditable() error {
	return apperr.E(apperr.Conflict, "announce.edit.not_editable", errors.New("announcement no longer editable"))
}

// ForEdit returns an announcement for the compose form, refusing one that can no
// longer be changed. Opening it shows its text, so the view is audited as any view is.
func (s *Service) ForEdit(ctx context.Context, id int64) (Announcement, error) {
	var an Announcement
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, got, err := s.visible(ctx, id, false)
		if err != nil {
			return err
		}
		if !got.Editable(s.now()) {
			return errNotEditable()
		}
		an = got
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.view",
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: an.BoardID, SchoolID: an.SchoolID})
	})
	return an, err
}

// Update changes a draft or a scheduled announcement before it is sent: its audience,
// title, body, consent and time as c has them (its kind stays), the handouts in remove
// taken off and c's files added. The same checks as a new announcement apply, against
// both the old audience (the actor may touch it) and the new one (the actor may address
// it). A scheduled announcement stays scheduled and needs a time; when the time moves,
// it starts at the new one and the job queued for the old one does nothing.
func (s *Service) Update(ctx context.Context, id int64, c Compose, remove []int64, label string) error {
	var stored, removed []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		// visible authorises the actor for the announcement; it is read again below,
		// under the lock, since the start job may have just begun.
		a, _, err := s.visible(ctx, id, false)
		if err != nil {
			return err
		}
		if _, err := s.Store.LockState(ctx, id); err != nil {
			return err
		}
		an, err := s.Store.FindAnnouncementContent(ctx, id)
		if err != nil {
			return err
		}
		if !an.Editable(s.now()) {
			return errNotEditable()
		}
		c.Kind = an.Kind
		if c.Audience.SchoolID != an.SchoolID {
			return apperr.Fields{"audience": "announce.audience.invalid"}.Err()
		}
		boardID, err := s.authorize(ctx, a, c.Audience, c.Kind, false)
		if err != nil {
			return err
		}
		var keep []Handout
		for _, h := range an.Handouts {
			if slices.Contains(remove, h.ID) {
				removed = append(removed, h.Key)
				continue
			}
			keep = append(keep, h)
		}
		maxBytes, err := s.Store.MaxHandoutBytes(ctx, boardID)
		if err != nil {
			return err
		}
		title, body, err := s.check(&c, maxBytes, len(keep))
		if an.State == Scheduled && c.ScheduledAt.IsZero() {
			f := apperr.FieldsOf(err)
			if f == nil {
				f = apperr.Fields{}
			}
			f.Add("scheduled_at", "announce.edit.schedule_required")
			err = f.Err()
		}
		if err != nil {
			return err
		}
		names, err := s.Store.FindChildNames(ctx, boardID, c.Audience)
		if err != nil {
			return err
		}
		namesChild := NamesChild(title+"\n"+body, names)
		if namesChild && !c.Consent {
			return apperr.Fields{"consent": "announce.consent.required"}.Err()
		}
		moved := an.State == Scheduled && !sameTime(an.ScheduledAt, c.ScheduledAt)
		an.Audience, an.AudienceLabel, an.Title, an.Body = c.Audience, label, vault.Personal(title), vault.Personal(body)
		an.NamesChild, an.Consent, an.ScheduledAt = namesChild, c.Consent && namesChild, c.ScheduledAt
		if err := s.Store.UpdateAnnouncement(ctx, an); err != nil {
			return err
		}
		for _, h := range an.Handouts {
			if slices.Contains(removed, h.Key) {
				if err := s.Store.DeleteHandout(ctx, id, h.ID); err != nil {
					return err
				}
			}
		}
		// Kept handouts close up in their order (positions are unique and only move
		// down, one at a time), new ones follow.
		for i, h := range keep {
			if h.Position != i+1 {
				if err := s.Store.SetHandoutPosition(ctx, h.ID, i+1); err != nil {
					return err
				}
			}
		}
		for i, f := range c.Files {
			h := Handout{Position: len(keep) + i + 1, Name: vault.Personal(f.Name), Size: len(f.Data), Key: files.NewKey("handout")}
			if err := s.Files.Put(ctx, h.Key, f.Data); err != nil {
				return err
			}
			stored = append(stored, h.Key)
			sum := sha256.Sum256(f.Data)
			if err := s.Store.CreateHandout(ctx, id, &h, sum[:]); err != nil {
				return err
			}
		}
		if moved {
			if err := s.enqueueStart(ctx, an, an.ScheduledAt); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.update",
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: an.BoardID, SchoolID: an.SchoolID,
			Detail: map[string]any{"kind": an.Kind, "state": an.State, "handouts_added": len(c.Files), "handouts_removed": len(removed),
				"names_child": namesChild, "rescheduled": moved}})
	})
	if err != nil {
		for _, k := range stored {
			_ = s.Files.Delete(context.WithoutCancel(ctx), k)
		}
		return err
	}
	for _, k := range removed {
		_ = s.Files.Delete(ctx, k)
	}
	return nil
}

// sameTime compares scheduled times as PostgreSQL keeps them (to the microsecond).
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// ParseSafetyBody reads a safety alert's stored body back into its template's fields
// and the free text after them, for editing. The split is the one SafetyBody made: were
// a field to contain a later heading, the text would still be laid out again exactly as
// before. ok is false when body does not follow the template.
func ParseSafetyBody(t func(lang, id string, data map[string]any) string, body string) (f SafetyFields, extra string, ok bool) {
	label := func(id string) string { return t("ja", "announce.safety."+id, nil) + "：" }
	rest, found := strings.CutPrefix(body, label("occurred_at"))
	if !found {
		return f, "", false
	}
	for _, step := range []struct {
		into *string
		next string
	}{{&f.OccurredAt, "place"}, {&f.Place, "details"}, {&f.Details, "response"}} {
		before, after, found := strings.Cut(rest, "\n"+label(step.next))
		if !found {
			return SafetyFields{}, "", false
		}
		*step.into, rest = before, after
	}
	f.Response, extra, _ = strings.Cut(rest, "\n\n")
	return f, extra, true
}
