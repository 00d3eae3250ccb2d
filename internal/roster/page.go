package roster

import (
	"context"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
)

// Page is the console's roster tab of a school: the school, and its current year (the
// year the templates and exports start from).
type Page struct {
	School school.School
	Year   int
}

// Open returns the roster tab, for whoever may manage the school's classes and clubs.
func (s *Service) Open(ctx context.Context, schoolID int64) (Page, error) {
	var p Page
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, sc, err := s.authorise(ctx, schoolID, authz.ManageStructure)
		p = Page{School: sc, Year: sc.CurrentYear}
		return err
	})
	return p, err
}

// MaxFileBytes bounds a roster file (5,000 lines of a roster are far below it).
const MaxFileBytes = 5 << 20

// Upload is a file sent to the roster tab: to import, or with Preview to see what
// importing it would do. TooBig says the file was cut off on the way in.
type Upload struct {
	Kind    Kind
	File    []byte
	TooBig  bool
	Preview bool
}

// Send imports or previews an uploaded file and returns the tab with what it came to
// (the tab also on failure, for the form to be shown again). A missing or too large
// file is the result's one row error.
func (s *Service) Send(ctx context.Context, schoolID int64, up Upload) (Page, ImportResult, error) {
	p, err := s.Open(ctx, schoolID)
	if err != nil {
		return p, ImportResult{}, err
	}
	switch {
	case up.TooBig || len(up.File) > MaxFileBytes:
		return p, ImportResult{Errors: []RowError{{MessageID: "roster.page.too_big"}}}, nil
	case len(up.File) == 0:
		return p, ImportResult{Errors: []RowError{{MessageID: "roster.page.no_file"}}}, nil
	}
	res, err := s.run(ctx, schoolID, up.Kind, up.File, up.Preview)
	return p, res, err
}
