package apptest

import "testing"

// Steps runs the steps of a long scenario test in order, each as a subtest named after
// what it checks, and ends the test at the first step that fails: later steps build on
// what the earlier ones did.
//
// Clients and browsers that live across steps report their failures to the test they
// were made with; Use points them at the step running now.
type Steps struct {
	t       *testing.T
	clients []*StaffClient
}

// NewSteps starts the steps of t's scenario.
func NewSteps(t *testing.T) *Steps {
	return &Steps{t: t}
}

// Use makes the clients report to the running step (and to the scenario's test
// between steps).
func (s *Steps) Use(clients ...*StaffClient) {
	s.clients = append(s.clients, clients...)
}

// Run runs step f as the subtest name and stops the scenario if it fails.
func (s *Steps) Run(name string, f func(t *testing.T)) {
	s.t.Helper()
	ok := s.t.Run(name, func(t *testing.T) {
		s.point(t)
		f(t)
	})
	s.point(s.t)
	if !ok {
		s.t.FailNow()
	}
}

func (s *Steps) point(t *testing.T) {
	for _, c := range s.clients {
		c.T = t
	}
}
