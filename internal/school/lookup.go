package school

import "context"

// The lookups below are what other features need of a school's structure, for
// records they have already authorised (a parent's own child, a stored report). Each
// runs in the caller's transaction when there is one, or in its own.

// FindSchoolByID returns a school.
func (s *Service) FindSchoolByID(ctx context.Context, id int64) (sc School, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		sc, err = s.Store.FindSchoolByID(ctx, id)
		return err
	})
	return sc, err
}

// FindClassByID returns a class.
func (s *Service) FindClassByID(ctx context.Context, id int64) (c Class, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		c, err = s.Store.FindClassByID(ctx, id)
		return err
	})
	return c, err
}

// FindClasses lists a school's classes of a year.
func (s *Service) FindClasses(ctx context.Context, schoolID int64, year int) (cs []Class, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		cs, err = s.Store.FindClasses(ctx, schoolID, year)
		return err
	})
	return cs, err
}

// FindClubs lists a school's clubs of a year.
func (s *Service) FindClubs(ctx context.Context, schoolID int64, year int) (cs []Club, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		cs, err = s.Store.FindClubs(ctx, schoolID, year)
		return err
	})
	return cs, err
}

// The methods below write a school's structure for an import (internal/roster) that
// has authorised the whole file and records one audit event for it: they check
// nothing themselves and run in the caller's transaction.

// ImportClass creates a class.
func (s *Service) ImportClass(ctx context.Context, c *Class) error {
	return s.Tx.Run(ctx, func(ctx context.Context) error { return s.Store.CreateClass(ctx, c) })
}

// ImportEnrolment sets a class's enrolment (nil clears it).
func (s *Service) ImportEnrolment(ctx context.Context, classID int64, n *int) error {
	return s.Tx.Run(ctx, func(ctx context.Context) error {
		return s.Store.UpdateClass(ctx, classID, ClassUpdate{Enrolment: n})
	})
}

// ImportClub creates a club.
func (s *Service) ImportClub(ctx context.Context, c *Club) error {
	return s.Tx.Run(ctx, func(ctx context.Context) error { return s.Store.CreateClub(ctx, c) })
}
