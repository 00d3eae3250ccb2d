package linesim

import "fmt"

// hold keeps answers to an endpoint waiting: the calls take effect, the answers come
// when released.
type hold struct {
	pass int // calls still answered at once
	held int
	gate chan struct{}
}

// HoldAfter lets the next n calls to endpoint be answered as usual; every later call
// takes effect and then waits for Release before it is answered — as when LINE has
// accepted a request and the answer is slow to come back, or never reaches a client
// that died meanwhile. Tests use it to stop an app at a known point.
func (s *Sim) HoldAfter(endpoint string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holds == nil {
		s.holds = map[string]*hold{}
	}
	s.holds[endpoint] = &hold{pass: n, gate: make(chan struct{})}
}

// Held reports how many calls to endpoint are waiting for Release.
func (s *Sim) Held(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.holds[endpoint]; h != nil {
		return h.held
	}
	return 0
}

// Release answers the held calls to endpoint and stops holding it.
func (s *Sim) Release(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.holds[endpoint]; h != nil {
		close(h.gate)
		delete(s.holds, endpoint)
	}
}

// holdGate returns the channel a call must wait on, or nil. Callers hold s.mu.
func (s *Sim) holdGate(endpoint string) chan struct{} {
	h := s.holds[endpoint]
	if h == nil {
		return nil
	}
	if h.pass > 0 {
		h.pass--
		return nil
	}
	h.held++
	return h.gate
}

// AddFriends adds n users who already follow the channel, without webhook events: a
// load test's city of parents, registered with renraku by other means.
func (s *Sim) AddFriends(channelID string, n int, language string) ([]User, error) {
	if language == "" {
		language = "ja"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channelID]
	if !ok {
		return nil, ErrUnknownChannel
	}
	out := make([]User, 0, n)
	for i := range n {
		u := &User{ID: NewUserID(), DisplayName: fmt.Sprintf("保護者%d", i+1), Language: language}
		s.users[u.ID] = u
		s.userSeq = append(s.userSeq, u.ID)
		ch.friends[u.ID] = &friendship{following: true}
		out = append(out, *u)
	}
	s.notify()
	return out, nil
}
