package roster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
)

// Service imports and exports a school's roster as CSV. An import is checked whole —
// the file, every row, and every row against what is stored — and is saved in one
// transaction only when nothing is wrong.
type Service struct {
	Pool         *pgxpool.Pool
	Schools      school.Store
	Staff        staff.Store
	StaffService *staff.Service
	Audit        *audit.Log
}

// ImportResult is what an import did, or why it did nothing.
type ImportResult struct {
	Encoding Encoding
	// Rows is the number of rows imported (0 when there were errors).
	Rows int
	// Errors lists every problem; when it is not empty nothing was imported.
	Errors []RowError
	// Invites are the new accounts' one-time sign-in links (staff imports).
	Invites []staff.Invite
}

// errRejected rolls back an import that has row errors.
var errRejected = errors.New("roster: import has errors")

// Column names as the files' headers say them, for row errors.
const (
	colLogin  = "ログインID"
	colYear   = "年度"
	colGrade  = "学年"
	colClass  = "組"
	colClub   = "部活動名"
	colTarget = "対象"
)

// action is what importing or exporting kind needs, and whether kind is known; an
// unknown kind is still authorised first (as a staff import), so the answer to someone
// without the right is always the refusal.
func action(kind Kind, export bool) (authz.Action, error) {
	var bad error
	if !validKind(kind) {
		bad = apperr.E(apperr.Invalid, "roster.kind.invalid", fmt.Errorf("unknown roster kind %q", kind))
	}
	switch {
	case export:
		return authz.ExportRoster, bad
	case kind == KindClasses || kind == KindClubs:
		return authz.ManageStructure, nil
	}
	return authz.ManageStaff, bad
}

func validKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// school loads the school and authorises act on it; a school outside the actor's
// reach is not found.
func (s *Service) school(ctx context.Context, tx pgx.Tx, schoolID int64, act authz.Action) (*authz.Actor, school.School, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, school.School{}, err
	}
	sc, err := s.Schools.FindSchoolByID(ctx, tx, schoolID)
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

// Import reads a CSV file of kind for the school and imports it, all or nothing.
func (s *Service) Import(ctx context.Context, schoolID int64, kind Kind, file []byte) (ImportResult, error) {
	act, badKind := action(kind, false)
	var res ImportResult
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		a, sc, err := s.school(ctx, tx, schoolID, act)
		if err != nil {
			return err
		}
		if badKind != nil {
			return badKind
		}
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
		im := importer{s: s, tx: tx, sc: sc, actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}}
		switch kind {
		case KindStaff:
			err = im.staff(ctx, text, &res)
		case KindClasses:
			err = im.classes(ctx, text, &res)
		case KindClubs:
			err = im.clubs(ctx, text, &res)
		case KindAssignments:
			err = im.assignments(ctx, text, &res)
		}
		if err != nil {
			return err
		}
		if len(res.Errors) > 0 {
			return errRejected
		}
		return s.Audit.Record(ctx, tx, audit.Event{Actor: im.actor, Action: "csv.import", ObjectKind: "school", ObjectID: strconv.FormatInt(sc.ID, 10),
			BoardID: sc.BoardID, SchoolID: sc.ID, Detail: map[string]any{"kind": string(kind), "rows": res.Rows, "encoding": string(enc)}})
	})
	if errors.Is(err, errRejected) {
		res.Rows, res.Invites = 0, nil
		return res, nil
	}
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

type importer struct {
	s     *Service
	tx    pgx.Tx
	sc    school.School
	actor audit.Actor
}

func (im importer) validYear(y int) bool { return y >= im.sc.CurrentYear-1 && y <= im.sc.CurrentYear+1 }

func (im importer) staff(ctx context.Context, text string, res *ImportResult) error {
	rows, errs := ParseStaff(text)
	res.Errors = errs
	for _, r := range rows {
		_, _, err := im.s.Staff.FindStaffByLogin(ctx, im.tx, staff.NormalizeLogin(r.Login))
		switch {
		case err == nil:
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colLogin, MessageID: "roster.db.login_taken"})
		case apperr.KindOf(err) != apperr.NotFound:
			return err
		}
	}
	if len(res.Errors) > 0 {
		return nil
	}
	for _, r := range rows {
		role := authz.Teacher
		if r.Role == "school-admin" {
			role = authz.SchoolAdmin
		}
		inv, err := im.s.StaffService.CreateTx(ctx, im.tx, im.actor, staff.NewStaff{BoardID: im.sc.BoardID, SchoolID: im.sc.ID, Role: role, Login: r.Login, Name: r.Name})
		if err != nil {
			return err
		}
		res.Invites = append(res.Invites, inv)
	}
	res.Rows = len(rows)
	return nil
}

// classIndex maps a year's classes by grade and name.
func (im importer) classIndex(ctx context.Context, years map[int]bool) (map[[2]any]school.Class, error) {
	out := map[[2]any]school.Class{}
	for y := range years {
		cs, err := im.s.Schools.FindClasses(ctx, im.tx, im.sc.ID, y)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out[[2]any{y, c.Label()}] = c
		}
	}
	return out, nil
}

func (im importer) clubIndex(ctx context.Context, years map[int]bool) (map[[2]any]school.Club, error) {
	out := map[[2]any]school.Club{}
	for y := range years {
		cs, err := im.s.Schools.FindClubs(ctx, im.tx, im.sc.ID, y)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out[[2]any{y, c.Name}] = c
		}
	}
	return out, nil
}

func (im importer) classes(ctx context.Context, text string, res *ImportResult) error {
	rows, errs := ParseClasses(text)
	res.Errors = errs
	years := map[int]bool{}
	for _, r := range rows {
		years[r.Year] = true
	}
	existing, err := im.classIndex(ctx, years)
	if err != nil {
		return err
	}
	maxGrade := school.MaxGrade(im.sc.Type)
	var ok []school.Class
	for _, r := range rows {
		c := school.Class{SchoolID: im.sc.ID, Year: r.Year, Grade: r.Grade, Name: r.Name}
		switch {
		case !im.validYear(r.Year):
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colYear, MessageID: "roster.db.year_out_of_range",
				Args: map[string]any{"From": im.sc.CurrentYear - 1, "To": im.sc.CurrentYear + 1}})
		case r.Grade > maxGrade:
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colGrade, MessageID: "roster.db.grade_too_high", Args: map[string]any{"Max": maxGrade}})
		case len(school.CheckClass(&c, maxGrade)) > 0:
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colClass, MessageID: "roster.db.class_name_invalid"})
		default:
			if _, dup := existing[[2]any{r.Year, c.Label()}]; dup {
				res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colClass, MessageID: "roster.db.class_exists"})
				continue
			}
			ok = append(ok, c)
		}
	}
	if len(res.Errors) > 0 {
		return nil
	}
	for i := range ok {
		if err := im.s.Schools.CreateClass(ctx, im.tx, &ok[i]); err != nil {
			return err
		}
	}
	res.Rows = len(ok)
	return nil
}

func (im importer) clubs(ctx context.Context, text string, res *ImportResult) error {
	rows, errs := ParseClubs(text)
	res.Errors = errs
	years := map[int]bool{}
	for _, r := range rows {
		years[r.Year] = true
	}
	existing, err := im.clubIndex(ctx, years)
	if err != nil {
		return err
	}
	var ok []school.Club
	for _, r := range rows {
		c := school.Club{SchoolID: im.sc.ID, Year: r.Year, Name: r.Name}
		switch {
		case !im.validYear(r.Year):
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colYear, MessageID: "roster.db.year_out_of_range",
				Args: map[string]any{"From": im.sc.CurrentYear - 1, "To": im.sc.CurrentYear + 1}})
		default:
			if _, dup := existing[[2]any{r.Year, r.Name}]; dup {
				res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colClub, MessageID: "roster.db.club_exists"})
				continue
			}
			ok = append(ok, c)
		}
	}
	if len(res.Errors) > 0 {
		return nil
	}
	for i := range ok {
		if err := im.s.Schools.CreateClub(ctx, im.tx, &ok[i]); err != nil {
			return err
		}
	}
	res.Rows = len(ok)
	return nil
}

var dutyOf = map[string]authz.Duty{"homeroom": authz.Homeroom, "sub-homeroom": authz.SubHomeroom, "advisor": authz.Advisor, "office": authz.Office}

func (im importer) assignments(ctx context.Context, text string, res *ImportResult) error {
	rows, errs := ParseAssignments(text)
	res.Errors = errs
	years := map[int]bool{}
	for _, r := range rows {
		years[r.Year] = true
	}
	classes, err := im.classIndex(ctx, years)
	if err != nil {
		return err
	}
	clubs, err := im.clubIndex(ctx, years)
	if err != nil {
		return err
	}
	held := map[int64][]staff.Assignment{}
	var ok []staff.Assignment
	for _, r := range rows {
		if !im.validYear(r.Year) {
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colYear, MessageID: "roster.db.year_out_of_range",
				Args: map[string]any{"From": im.sc.CurrentYear - 1, "To": im.sc.CurrentYear + 1}})
			continue
		}
		st, _, err := im.s.Staff.FindStaffByLogin(ctx, im.tx, staff.NormalizeLogin(r.Login))
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return err
		}
		if err != nil || st.SchoolID != im.sc.ID {
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colLogin, MessageID: "roster.db.unknown_login"})
			continue
		}
		as := staff.Assignment{StaffID: st.ID, SchoolID: im.sc.ID, Duty: dutyOf[r.Duty]}
		switch as.Duty {
		case authz.Homeroom, authz.SubHomeroom:
			c, found := classes[[2]any{r.Year, strconv.Itoa(r.Grade) + "年" + r.Class}]
			if !found {
				res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colTarget, MessageID: "roster.db.unknown_class"})
				continue
			}
			as.ClassID = c.ID
		case authz.Advisor:
			c, found := clubs[[2]any{r.Year, r.Club}]
			if !found {
				res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colTarget, MessageID: "roster.db.unknown_club"})
				continue
			}
			as.ClubID = c.ID
		}
		if _, seen := held[st.ID]; !seen {
			if held[st.ID], err = im.s.Staff.FindAssignments(ctx, im.tx, st.ID); err != nil {
				return err
			}
		}
		dup := false
		for _, h := range held[st.ID] {
			if h.Duty == as.Duty && h.ClassID == as.ClassID && h.ClubID == as.ClubID && (as.Duty != authz.Office || h.Year == r.Year) {
				dup = true
			}
		}
		if dup {
			res.Errors = append(res.Errors, RowError{Line: r.Line, Column: colTarget, MessageID: "roster.db.assignment_exists"})
			continue
		}
		ok = append(ok, as)
	}
	if len(res.Errors) > 0 {
		return nil
	}
	for i := range ok {
		if err := im.s.Staff.CreateAssignment(ctx, im.tx, &ok[i]); err != nil {
			return err
		}
	}
	res.Rows = len(ok)
	return nil
}

// Export writes the school's roster of kind for year (0: the current year) as a CSV
// file in enc, and records the export.
func (s *Service) Export(ctx context.Context, schoolID int64, kind Kind, year int, enc Encoding, w io.Writer) error {
	act, badKind := action(kind, true)
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		a, sc, err := s.school(ctx, tx, schoolID, act)
		if err != nil {
			return err
		}
		if badKind != nil {
			return badKind
		}
		if !enc.Valid() {
			return apperr.E(apperr.Invalid, "roster.encoding.invalid", fmt.Errorf("unknown encoding %q", enc))
		}
		if year == 0 {
			year = sc.CurrentYear
		}
		text, n, err := s.export(ctx, tx, sc, kind, year)
		if err != nil {
			return err
		}
		if err := Encode(w, text, enc); err != nil {
			var re *RowError
			if errors.As(err, &re) {
				return apperr.E(apperr.Invalid, "roster.export.unrepresentable", err)
			}
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "csv.export", ObjectKind: "school",
			ObjectID: strconv.FormatInt(sc.ID, 10), BoardID: sc.BoardID, SchoolID: sc.ID,
			Detail: map[string]any{"kind": string(kind), "rows": n, "encoding": string(enc), "year": year}})
	})
}

func (s *Service) export(ctx context.Context, tx pgx.Tx, sc school.School, kind Kind, year int) (string, int, error) {
	switch kind {
	case KindClasses:
		cs, err := s.Schools.FindClasses(ctx, tx, sc.ID, year)
		rows := make([]ClassRow, 0, len(cs))
		for _, c := range cs {
			rows = append(rows, ClassRow{Year: c.Year, Grade: c.Grade, Name: c.Name})
		}
		return WriteClasses(rows), len(rows), err
	case KindClubs:
		cs, err := s.Schools.FindClubs(ctx, tx, sc.ID, year)
		rows := make([]ClubRow, 0, len(cs))
		for _, c := range cs {
			rows = append(rows, ClubRow{Year: c.Year, Name: c.Name})
		}
		return WriteClubs(rows), len(rows), err
	}
	list, err := s.Staff.FindStaffs(ctx, tx, staff.Filter{BoardID: sc.BoardID, SchoolID: sc.ID})
	if err != nil {
		return "", 0, err
	}
	if kind == KindStaff {
		rows := make([]StaffRow, 0, len(list))
		for _, st := range list {
			role := "teacher"
			if st.Role == authz.SchoolAdmin {
				role = "school-admin"
			}
			rows = append(rows, StaffRow{Login: st.Login.Reveal(), Name: st.Name.Reveal(), Role: role})
		}
		return WriteStaff(rows), len(rows), nil
	}
	classes, err := s.Schools.FindClasses(ctx, tx, sc.ID, year)
	if err != nil {
		return "", 0, err
	}
	byID := map[int64]school.Class{}
	for _, c := range classes {
		byID[c.ID] = c
	}
	var rows []AssignmentRow
	for _, st := range list {
		as, err := s.Staff.FindAssignments(ctx, tx, st.ID)
		if err != nil {
			return "", 0, err
		}
		for _, x := range as {
			if x.Year != year {
				continue
			}
			r := AssignmentRow{Year: x.Year, Login: st.Login.Reveal()}
			switch x.Duty {
			case authz.Homeroom, authz.SubHomeroom:
				r.Duty = "homeroom"
				if x.Duty == authz.SubHomeroom {
					r.Duty = "sub-homeroom"
				}
				r.Grade, r.Class = byID[x.ClassID].Grade, byID[x.ClassID].Name
			case authz.Advisor:
				r.Duty, r.Club = "advisor", x.Target
			default:
				r.Duty = "office"
			}
			rows = append(rows, r)
		}
	}
	return WriteAssignments(rows), len(rows), nil
}
