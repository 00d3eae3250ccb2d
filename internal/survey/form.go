package survey

import (
	"context"
	"errors"
	"strconv"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/vault"
)

// Form is what the create or edit form sent: the survey as written, with the audience
// as chosen (not yet checked), the language in which to label that audience and to
// word an attendance check's questions, and the form's own mistakes (a number or a
// time that is not one), reported with everything else before anything is stored.
type Form struct {
	Compose
	Lang string
	// AskReason and AskCount: an attendance check also asks for a reason and for the
	// number attending (its questions are built with AttendanceQuestions).
	AskReason, AskCount bool
	Problems            apperr.Fields
}

// questions settles what an attendance check asks: its standard questions, in the
// sender's language; a survey keeps the questions written.
func (s *Service) questions(f *Form) {
	if f.Kind == KindAttendance {
		f.Questions = AttendanceQuestions(func(id string) string { return s.T(f.Lang, id, nil) }, f.AskReason, f.AskCount)
	}
}

// settle settles f's audience against the options of the signed-in person and
// returns its label.
func (s *Service) settle(f *Form, o announce.Options) string {
	aud, label := o.Settle(announce.Notice, f.Audience, func(g int) string {
		return s.T(f.Lang, "announce.grade", map[string]any{"Grade": g})
	})
	f.Audience = aud
	return label
}

// noAudience is the refusal of the form to a person who may address nobody.
func noAudience(o announce.Options) error {
	if !o.Board && !o.CanSchool && len(o.Classes) == 0 && len(o.Clubs) == 0 {
		return apperr.E(apperr.Forbidden, "authz.forbidden", errors.New("no audience to address"))
	}
	return nil
}

// NewForm returns the audiences the signed-in person may address with a survey (as
// with an announcement), for the create form; a person with none is refused.
func (s *Service) NewForm(ctx context.Context) (announce.Options, error) {
	o, err := s.Audiences.ComposeOptions(ctx, announce.Notice)
	if err != nil {
		return o, err
	}
	return o, noAudience(o)
}

// CreateFromForm saves what the create form sent as a draft (Create, with the
// audience settled and labelled and an attendance check's questions built). The
// options are returned also on failure, for the form to be shown again.
func (s *Service) CreateFromForm(ctx context.Context, f Form) (int64, announce.Options, error) {
	var id int64
	var o announce.Options
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if o, err = s.Audiences.ComposeOptions(ctx, announce.Notice); err != nil {
			return err
		}
		if err := f.Problems.Err(); err != nil {
			return err
		}
		s.questions(&f)
		id, err = s.Create(ctx, f.Compose, s.settle(&f, o))
		return err
	})
	return id, o, err
}

// ListPage is the staff list of surveys, and whether the person may create one.
type ListPage struct {
	Items     []Survey
	CanCreate bool
}

// OpenList returns the surveys the signed-in person may see (List) and whether they
// may create one.
func (s *Service) OpenList(ctx context.Context) (ListPage, error) {
	var p ListPage
	items, err := s.List(ctx)
	if err != nil {
		return p, err
	}
	p.Items = items
	o, err := s.Audiences.ComposeOptions(ctx, announce.Notice)
	if err != nil {
		return p, err
	}
	p.CanCreate = noAudience(o) == nil
	return p, nil
}

// PreviewPage is what the sender checks before sending: the survey, whom it reaches
// and the quota it uses (Preview), the LINE messages a parent receives (for a sample
// recipient: a per-child survey names placeholder children, never a real one) and
// whether it may still be edited.
type PreviewPage struct {
	Preview
	LINE     []line.Message
	Editable bool
}

// OpenPreview returns a survey's preview, in lang. Opening it shows the survey's
// text, so the view is audited.
func (s *Service) OpenPreview(ctx context.Context, id int64, lang string) (PreviewPage, error) {
	var pg PreviewPage
	p, err := s.Preview(ctx, id)
	if err != nil {
		return pg, err
	}
	pg.Preview = p
	sv := p.Survey
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		a := authz.ActorFrom(ctx)
		pg.Editable = sv.Editable() && s.mayEdit(ctx, sv) == nil
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.view",
			ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID})
	})
	if err != nil {
		return pg, err
	}
	pg.LINE = s.Messages(sv, SampleRecipient(sv, lang, s.T(lang, "survey_staff.preview.child", nil)))
	return pg, nil
}

// SampleRecipient is a recipient to show a survey's messages with: one placeholder
// child (child names it) for a per-child survey, a family otherwise.
func SampleRecipient(sv Survey, lang, child string) Recipient {
	r := Recipient{Language: lang, Units: []RecipientUnit{{UnitID: 1}}}
	if sv.PerChild {
		r.Units[0].ChildName = vault.Personal(child)
	}
	return r
}
