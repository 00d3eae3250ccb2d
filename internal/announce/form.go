package announce

import (
	"context"
	"strconv"
	"strings"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
)

// Form is what a compose form sent: the announcement as written, with the audience as
// chosen (the IDs and flags the form posted, not yet checked), and the language in
// which to label that audience.
type Form struct {
	Compose
	Lang string
	// Problems are the mistakes found in reading the form (a time that is not one):
	// they are reported, with the options to show the form again, before anything else.
	Problems apperr.Fields
}

// Settle turns the audience a form chose into the one to store, and describes it for
// lists with the labels the person was offered (anything not offered keeps its value
// and is refused when the audience is authorised). A board chooses schools and
// districts; a school's staff choose within their school, and a safety alert with no
// grade chosen goes to the whole school.
func (o Options) Settle(kind string, chosen Audience, grade func(int) string) (Audience, string) {
	var a Audience
	var parts []string
	label := func(choices []Choice, id int64) string {
		for _, c := range choices {
			if c.ID == id {
				return c.Label
			}
		}
		return strconv.FormatInt(id, 10)
	}
	if o.Board {
		a.Schools, a.Districts = chosen.Schools, chosen.Districts
		for _, id := range a.Schools {
			parts = append(parts, label(o.Schools, id))
		}
		parts = append(parts, a.Districts...)
		return a, strings.Join(parts, "、")
	}
	a.SchoolID = o.SchoolID
	if chosen.Whole || (kind == Safety && len(chosen.Grades) == 0) {
		a.Whole = true
		parts = append(parts, o.SchoolName)
	}
	a.Grades, a.Classes, a.Clubs = chosen.Grades, chosen.Classes, chosen.Clubs
	for _, g := range a.Grades {
		parts = append(parts, grade(g))
	}
	for _, id := range a.Classes {
		parts = append(parts, label(o.Classes, id))
	}
	for _, id := range a.Clubs {
		parts = append(parts, label(o.Clubs, id))
	}
	return a, strings.Join(parts, "、")
}

// settle settles f's audience against the options of the signed-in person.
func (s *Service) settle(f *Form, o Options) string {
	aud, label := o.Settle(f.Kind, f.Audience, func(g int) string {
		return s.T(f.Lang, "announce.grade", map[string]any{"Grade": g})
	})
	f.Audience = aud
	return label
}

// CreateFromForm saves what the compose form sent as a draft (Create, with the
// audience settled and labelled). The options are returned also on failure, for the
// form to be shown again.
func (s *Service) CreateFromForm(ctx context.Context, f Form) (int64, Options, error) {
	var id int64
	var o Options
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if o, err = s.ComposeOptions(ctx, f.Kind); err != nil {
			return err
		}
		if err := f.Problems.Err(); err != nil {
			return err
		}
		id, err = s.Create(ctx, f.Compose, s.settle(&f, o))
		return err
	})
	return id, o, err
}

// EditForm is the compose form of a stored announcement: the announcement and the
// audiences its kind may address.
type EditForm struct {
	Announcement Announcement
	Options      Options
}

// OpenEdit is the page that edits a draft or a scheduled announcement (ForEdit, with
// the audiences to offer).
func (s *Service) OpenEdit(ctx context.Context, id int64) (EditForm, error) {
	var e EditForm
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if e.Announcement, err = s.ForEdit(ctx, id); err != nil {
			return err
		}
		e.Options, err = s.ComposeOptions(ctx, e.Announcement.Kind)
		return err
	})
	return e, err
}

// UpdateFromForm changes a draft or a scheduled announcement as its edit form sent it
// (Update, with the audience settled and labelled). The edit form's data is returned
// also on failure, for the form to be shown again; a failure to read the announcement
// itself leaves it empty.
func (s *Service) UpdateFromForm(ctx context.Context, id int64, f Form, remove []int64) (EditForm, error) {
	var e EditForm
	var ready bool
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if e.Announcement, err = s.Get(ctx, id); err != nil {
			return err
		}
		if e.Options, err = s.ComposeOptions(ctx, e.Announcement.Kind); err != nil {
			return err
		}
		ready = true
		if err := f.Problems.Err(); err != nil {
			return err
		}
		f.Kind = e.Announcement.Kind
		return s.Update(ctx, id, f.Compose, remove, s.settle(&f, e.Options))
	})
	if !ready {
		return EditForm{}, err
	}
	return e, err
}

// AuthorizeAudience checks that the signed-in person may address an audience with an
// announcement (past: or read what was addressed in an earlier year) and returns its
// board. Other features that address parents as announcements do (surveys) ask it, so
// that one rule decides who may reach whom.
func (s *Service) AuthorizeAudience(ctx context.Context, au Audience, past bool) (int64, error) {
	return s.authorize(ctx, authz.ActorFrom(ctx), au, Notice, past)
}
