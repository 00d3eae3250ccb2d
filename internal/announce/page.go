package announce

import (
	"context"

	"github.com/renraku/renraku/internal/line"
)

// ListPage is the announcements page: those the actor may see, newest first, and
// whether they may start one (CanCompose) or a safety alert (CanSafety).
type ListPage struct {
	Items                 []Announcement
	CanCompose, CanSafety bool
}

// OpenList returns the announcements page. The list is audited (List).
func (s *Service) OpenList(ctx context.Context) (ListPage, error) {
	items, err := s.List(ctx)
	if err != nil {
		return ListPage{}, err
	}
	o, err := s.Options(ctx)
	if err != nil {
		return ListPage{}, err
	}
	return ListPage{Items: items, CanCompose: o.Board || o.CanSchool || len(o.Classes) > 0 || len(o.Clubs) > 0,
		CanSafety: o.Board || o.CanSchool}, nil
}

// Page is an announcement's page: the announcement, whether it may still be edited,
// the LINE messages it sends (in Japanese) and, for a draft, its reach.
type Page struct {
	Announcement Announcement
	Editable     bool
	LINE         []line.Message
	// Preview is the draft's reach and quota check (zero for an announcement sent
	// or scheduled).
	Preview Preview
}

// OpenAnnouncement returns an announcement's page. The view is audited (View).
func (s *Service) OpenAnnouncement(ctx context.Context, id int64) (Page, error) {
	an, err := s.View(ctx, id)
	if err != nil {
		return Page{}, err
	}
	p := Page{Announcement: an, Editable: s.CanEdit(an), LINE: s.Messages(an, "ja", an.SharedChannel)}
	if an.State == Draft {
		if p.Preview, err = s.Preview(ctx, id); err != nil {
			return Page{}, err
		}
	}
	return p, nil
}

// RecipientsPage is a list of an announcement's recipients: those who have not read
// it ("unread") or whom it did not reach ("failed").
type RecipientsPage struct {
	Announcement Announcement
	Rows         []Recipient
}

// OpenRecipients returns the recipients page. The list is audited (Recipients).
func (s *Service) OpenRecipients(ctx context.Context, id int64, which string) (RecipientsPage, error) {
	rows, err := s.Recipients(ctx, id, which)
	if err != nil {
		return RecipientsPage{}, err
	}
	an, err := s.Get(ctx, id)
	if err != nil {
		return RecipientsPage{}, err
	}
	return RecipientsPage{Announcement: an, Rows: rows}, nil
}
