package roster

import (
	"context"
	"errors"
	"fmt"

	"slices"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/txn"
)

// Service imports and exports a school's roster as CSV. An import is checked whole —
// the file, every row, and every row against what is stored — and is saved in one
// transaction only when nothing is wrong, so a clerk never has to work out which half
// of a file made it in.
type Service struct {
	Tx      txn.Transactor
	Schools Structure
	Staff   Accounts
	Audit   *audit.Log
}

// ImportResult is what an import did, or why it did nothing.
type ImportResult struct {
	// Encoding is what the file turned out to be ("" when it could not be read).
	Encoding Encoding
	// Rows is the number of rows imported (0 when there were errors): the accounts,
	// classes, clubs or duties added; a preview's rows are those that would be.
	Rows int
	// Updated is the number of existing classes whose enrolment a classes file with
	// the 在籍者数 column changed; Unchanged the rows naming a class as it is.
	Updated, Unchanged int
	// Columns and Lines show each line of the file and what the import does (or, in
	// a preview, would do) with it: a new item, an update, or nothing to change.
	// They are empty when there were errors.
	Columns []string
	Lines   []LineResult
	// Errors lists every problem, in line order; when it is not empty nothing was
	// imported.
	Errors []RowError
	// Invites are the new accounts (staff imports) with their one-time sign-in link
	// tokens, to be shown once so the administrator can hand them out.
	Invites []staff.Invite
}

// The audit log's actions for imports and exports. Their detail holds the kind, the
// row count and the encoding (and an export's year), never a name or login ID.
const (
	AuditImport  = "roster.import"
	AuditPreview = "roster.preview"
	AuditExport  = "roster.export"
)

// errRejected rolls back an import that has row errors, and errPreview a preview.
var (
	errRejected = errors.New("roster: import has errors")
	errPreview  = errors.New("roster: preview")
)

// Column names as the files' headers say them, for row errors.
const (
	colLogin  = "ログインID"
	colName   = "氏名"
	colRole   = "役割"
	colYear   = "年度"
	colGrade  = "学年"
	colClass  = "組"
	colClub   = "部活動名"
	colTarget = "対象"
)

// Import reads a CSV file of kind for the school and imports it, all or nothing.
// Problems with the file are ImportResult.Errors, not an error: the error is for a
// refusal (apperr NotFound for a school outside the actor's reach, Forbidden, Invalid
// for an unknown kind) or a fault.
func (s *Service) Import(ctx context.Context, schoolID int64, kind Kind, file []byte) (ImportResult, error) {
	return s.run(ctx, schoolID, kind, file, false)
}

// Preview checks a file as Import does and says what importing it would do with each
// line, without saving anything (no account, no link, no change). A staff preview
// shows the stored name and role of each account it would change, so the preview is
// audited.
func (s *Service) Preview(ctx context.Context, schoolID int64, kind Kind, file []byte) (ImportResult, error) {
	return s.run(ctx, schoolID, kind, file, true)
}

func (s *Service) run(ctx context.Context, schoolID int64, kind Kind, file []byte, preview bool) (ImportResult, error) {
	act := authz.ManageStaff
	if kind == KindClasses || kind == KindClubs {
		act = authz.ManageStructure
	}
	var res ImportResult
	var event audit.Event
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sc, err := s.authorise(ctx, schoolID, act)
		if err != nil {
			return err
		}
		if !slices.Contains(Kinds, kind) {
			return apperr.E(apperr.Invalid, "roster.kind.invalid", fmt.Errorf("unknown roster kind %q", kind))
		}
		action := AuditImport
		if preview {
			action = AuditPreview
		}
		event = audit.Event{Actor: actorOf(a), Action: action, ObjectKind: "school",
			ObjectID: strconv.FormatInt(sc.ID, 10), BoardID: sc.BoardID, SchoolID: sc.ID}
		text, enc, err := Decode(file)
		res.Encoding = enc
		if err != nil {
			var re *RowError
			if errors.As(err, &re) {
				res.Errors = []RowError{*re}
				return errRejected
			}
			return err
		}
		im := &importer{s: s, sc: sc, actor: actorOf(a)}
		switch kind {
		case KindStaff:
			res.Rows, res.Invites, err = im.staff(ctx, text)
		case KindClasses:
			res.Rows, res.Updated, res.Unchanged, err = im.classes(ctx, text)
		case KindClubs:
			res.Rows, err = im.clubs(ctx, text)
		case KindAssignments:
			res.Rows, err = im.assignments(ctx, text)
		}
		res.Errors = im.errs.sorted()
		if err != nil {
			return err
		}
		if len(res.Errors) > 0 {
			return errRejected
		}
		res.Columns, res.Lines = im.columns, im.lines
		if res.Lines == nil {
			res.Columns, res.Lines = newLines(kind, text)
		}
		tally := map[Outcome]int{}
		for _, l := range res.Lines {
			tally[l.Outcome]++
		}
		event.Detail = map[string]any{"kind": string(kind), "count": res.Rows, "encoding": string(enc),
			"new": tally[OutcomeNew], "update": tally[OutcomeUpdate], "same": tally[OutcomeSame]}
		if preview {
			return errPreview // nothing is kept; the event is recorded on its own below
		}
		return s.Audit.Record(ctx, event)
	})
	switch {
	case errors.Is(err, errRejected):
		res.Rows, res.Updated, res.Unchanged, res.Invites = 0, 0, 0, nil
		return res, nil
	case errors.Is(err, errPreview):
		res.Invites = nil
		return res, s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Audit.Record(ctx, event) })
	case err != nil:
		return ImportResult{}, err
	}
	return res, nil
}

// Template returns a template for a file of kind in enc: its header and one made-up
// example row for the school's current year, for whoever may import such a file.
// It holds no one's data, so it is not audited.
func (s *Service) Template(ctx context.Context, schoolID int64, kind Kind, enc Encoding) (csvexport.File, error) {
	act := authz.ManageStaff
	if kind == KindClasses || kind == KindClubs {
		act = authz.ManageStructure
	}
	var f csvexport.File
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, sc, err := s.authorise(ctx, schoolID, act)
		if err != nil {
			return err
		}
		if !slices.Contains(Kinds, kind) {
			return apperr.E(apperr.Invalid, "roster.kind.invalid", fmt.Errorf("unknown roster kind %q", kind))
		}
		if !enc.Valid() {
			return apperr.E(apperr.Invalid, "roster.encoding.invalid", fmt.Errorf("unknown encoding %q", enc))
		}
		f, err = csvexport.Encode(Template(kind, sc.CurrentYear), enc)
		return err
	})
	if err != nil {
		return csvexport.File{}, err
	}
	return f, nil
}

// Export returns the school's roster of kind for year (0: the school's current year;
// staff are not kept per year, so a staff file lists every account of the school) as
// a CSV file in enc, and records the export in the audit log: staff names are personal
// data. In Shift_JIS a character the encoding lacks is replaced and counted
// (csvexport), so one emoji in a name never refuses the whole file.
func (s *Service) Export(ctx context.Context, schoolID int64, kind Kind, year int, enc Encoding) (csvexport.File, error) {
	var f csvexport.File
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sc, err := s.authorise(ctx, schoolID, authz.ExportRoster)
		if err != nil {
			return err
		}
		if !slices.Contains(Kinds, kind) {
			return apperr.E(apperr.Invalid, "roster.kind.invalid", fmt.Errorf("unknown roster kind %q", kind))
		}
		if !enc.Valid() {
			return apperr.E(apperr.Invalid, "roster.encoding.invalid", fmt.Errorf("unknown encoding %q", enc))
		}
		if year == 0 {
			year = sc.CurrentYear
		}
		text, n, err := s.export(ctx, sc, kind, year)
		if err != nil {
			return err
		}
		if f, err = csvexport.Encode(text, enc); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(a), Action: AuditExport, ObjectKind: "school",
			ObjectID: strconv.FormatInt(sc.ID, 10), BoardID: sc.BoardID, SchoolID: sc.ID,
			Detail: map[string]any{"kind": string(kind), "count": n, "encoding": string(enc), "year": year, "substituted": f.Substituted}})
	})
	if err != nil {
		return csvexport.File{}, err
	}
	return f, nil
}

// authorise loads the school and checks that the signed-in actor may do act to it,
// before anything else is read. A school outside the actor's reach (another school's
// administrator, another board) is not found, so its existence is not disclosed; an
// actor who may see the school but not do act (one of its teachers) is forbidden.
func (s *Service) authorise(ctx context.Context, schoolID int64, act authz.Action) (*authz.Actor, school.School, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, school.School{}, err
	}
	sc, err := s.Schools.FindSchoolByID(ctx, schoolID)
	if err != nil {
		return nil, school.School{}, err
	}
	t := authz.Target{BoardID: sc.BoardID, SchoolID: sc.ID}
	if err := authz.Check(a, act, t); err != nil {
		if authz.Check(a, authz.ViewSchool, t) != nil {
			return nil, school.School{}, apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		return nil, school.School{}, err
	}
	return a, sc, nil
}

func actorOf(a *authz.Actor) audit.Actor { return audit.Actor{Kind: audit.Staff, ID: a.StaffID} }
