// Package school holds the structure everything else hangs on: boards of education
// and their schools (later: school years, classes, clubs and duties).
package school

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/txn"
)

// Board is a municipal board of education (教育委員会).
type Board struct {
	ID   int64
	Name string
}

// School is an elementary or junior high school of a board.
type School struct {
	ID       int64
	BoardID  int64
	Name     string
	Type     string // elementary, junior_high
	District string // 学区
	Settings
	// CurrentYear is the school year (年度) in force: classes and duties of this year
	// decide access.
	CurrentYear int
}

// School types.
const (
	Elementary = "elementary"
	JuniorHigh = "junior_high"
)

// ParseType accepts 小学校/中学校 or the codes.
func ParseType(s string) (string, error) {
	switch strings.TrimSpace(s) {
	case "小学校", Elementary, "":
		return Elementary, nil
	case "中学校", JuniorHigh:
		return JuniorHigh, nil
	}
	return "", apperr.E(apperr.Invalid, "school.type.invalid", fmt.Errorf("school type %q: use 小学校 or 中学校", s))
}

// TypeLabel is the Japanese name of a school type.
func TypeLabel(t string) string {
	if t == JuniorHigh {
		return "中学校"
	}
	return "小学校"
}

// Store is the persistence of boards, schools, classes and clubs.
type Store interface {
	FindBoard(ctx context.Context, ref string) (Board, error)
	CreateBoard(ctx context.Context, b *Board) (created bool, err error)
	FindSchool(ctx context.Context, ref string) (School, error)
	FindSchoolByID(ctx context.Context, id int64) (School, error)
	FindSchools(ctx context.Context, boardID int64) ([]School, error)
	CreateSchool(ctx context.Context, s *School) (created bool, err error)
	UpdateSchool(ctx context.Context, id int64, upd Settings) error

	FindClasses(ctx context.Context, schoolID int64, year int) ([]Class, error)
	FindClassByID(ctx context.Context, id int64) (Class, error)
	CreateClass(ctx context.Context, c *Class) error
	UpdateClass(ctx context.Context, id int64, upd ClassUpdate) error
	DeleteClass(ctx context.Context, id int64) error
	FindClubs(ctx context.Context, schoolID int64, year int) ([]Club, error)
	FindClubByID(ctx context.Context, id int64) (Club, error)
	CreateClub(ctx context.Context, c *Club) error
	DeleteClub(ctx context.Context, id int64) error
	// FindYears lists the school years that have classes or clubs, plus the current one.
	FindYears(ctx context.Context, schoolID int64) ([]int, error)
}

// Service creates boards and schools (from the command line now, the console later).
type Service struct {
	Tx    txn.Transactor
	Store Store
	// Closed keeps the schools' closed days.
	Closed ClosedDayStore
	Audit  *audit.Log
	// Handouts is the board's handout size limit, shown on the console.
	Handouts HandoutLimits
}

func checkName(what, name string) error {
	n := utf8.RuneCountInString(strings.TrimSpace(name))
	if n == 0 || n > 100 {
		return apperr.E(apperr.Invalid, "school.name.invalid", fmt.Errorf("%s name must be 1–100 characters", what))
	}
	return nil
}

// EnsureBoard creates the board if no board has that name. Creating is audited.
func (s *Service) EnsureBoard(ctx context.Context, actor audit.Actor, name string) (Board, bool, error) {
	if err := checkName("board", name); err != nil {
		return Board{}, false, err
	}
	b := Board{Name: strings.TrimSpace(name)}
	var created bool
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if created, err = s.Store.CreateBoard(ctx, &b); err != nil || !created {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actor, Action: "board.create", ObjectKind: "board",
			ObjectID: strconv.FormatInt(b.ID, 10), BoardID: b.ID})
	})
	return b, created, err
}

// EnsureSchool creates the school in the board named (or numbered) boardRef unless the
// board already has a school of that name. Creating is audited.
func (s *Service) EnsureSchool(ctx context.Context, actor audit.Actor, boardRef string, sc School) (School, bool, error) {
	if err := checkName("school", sc.Name); err != nil {
		return School{}, false, err
	}
	t, err := ParseType(sc.Type)
	if err != nil {
		return School{}, false, err
	}
	sc.Type, sc.Name, sc.District = t, strings.TrimSpace(sc.Name), strings.TrimSpace(sc.District)
	if utf8.RuneCountInString(sc.District) > 100 {
		return School{}, false, apperr.E(apperr.Invalid, "school.district.invalid", errors.New("district longer than 100 characters"))
	}
	var created bool
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		b, err := s.Store.FindBoard(ctx, boardRef)
		if err != nil {
			return err
		}
		sc.BoardID = b.ID
		if created, err = s.Store.CreateSchool(ctx, &sc); err != nil || !created {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actor, Action: "school.create", ObjectKind: "school",
			ObjectID: strconv.FormatInt(sc.ID, 10), BoardID: b.ID, SchoolID: sc.ID})
	})
	return sc, created, err
}

// FindBoard finds a board by ID or name (the command line's bootstrap).
func (s *Service) FindBoard(ctx context.Context, ref string) (Board, error) {
	var b Board
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		b, err = s.Store.FindBoard(ctx, ref)
		return err
	})
	return b, err
}

// FindSchool finds a school by ID or by name (a name must be unique across boards).
func (s *Service) FindSchool(ctx context.Context, ref string) (School, error) {
	var sc School
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		sc, err = s.Store.FindSchool(ctx, ref)
		return err
	})
	return sc, err
}
