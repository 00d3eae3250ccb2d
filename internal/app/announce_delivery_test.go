package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/postgres"
)

// cityFamilies adds n families of 1年1組 of the first demo school: in LINE (the
// simulator) and in renraku's database; with mixed, every tenth unverified and every
// tenth (other) having blocked the account. It returns the users who should receive a
// class announcement and those who should not.
func cityFamilies(t *testing.T, w *lineWorld, n int, mixed bool) (reach, not []linesim.User) {
	t.Helper()
	s := w.app.Services()
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	friends, err := w.sim.AddFriends(w.ch.LineChannelID, n, "ja")
	if err != nil {
		t.Fatal(err)
	}
	fams := make([]postgres.Family, 0, n)
	for i, u := range friends {
		f := postgres.Family{UserID: u.ID, ChannelID: w.ch.ID, SchoolID: sakuraID, ClassID: class11, Nickname: fmt.Sprintf("保護者%05d", i),
			ChildName: fmt.Sprintf("児童 %05d", i), Verified: !mixed || i%10 != 7, Following: true}
		if mixed && i%10 == 3 {
			// Blocked in LINE too: the simulator would not deliver to them.
			bu, err := w.sim.AddUser(linesim.User{DisplayName: "ブロック済み"})
			if err != nil {
				t.Fatal(err)
			}
			f.UserID, f.Following, u = bu.ID, false, bu
		}
		fams = append(fams, f)
		if f.Verified && f.Following {
			reach = append(reach, u)
		} else {
			not = append(not, u)
		}
	}
	if err := postgres.SeedFamilies(context.Background(), s.Pool, s.Vault, fams); err != nil {
		t.Fatal(err)
	}
	return reach, not
}

// waitSent waits until an announcement has finished sending.
func waitSent(t *testing.T, w *lineWorld, id int64, limit time.Duration) {
	t.Helper()
	var state string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := w.app.Services().Pool.QueryRow(context.Background(), `SELECT state FROM announcement WHERE id = $1`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == announce.Sent {
			return
		}
	}
	t.Fatalf("announcement %d still %s", id, state)
}

// assertOnce checks that each user of reach received want exactly once and nobody of
// not received it.
func assertOnce(t *testing.T, w *lineWorld, want string, reach, not []linesim.User) {
	t.Helper()
	bad := 0
	for _, u := range reach {
		if n := received(w, u.ID, want); n != 1 && bad < 5 {
			bad++
			t.Errorf("%s received it %d times", u.ID[:8], n)
		}
	}
	for _, u := range not {
		if n := received(w, u.ID, want); n != 0 && bad < 5 {
			bad++
			t.Errorf("%s (unverified or blocked) received it %d times", u.ID[:8], n)
		}
	}
}

// TestAnnouncementBatchesRateLimitAndFaults sends a class announcement in batches
// under a tightened multicast limit on both sides, through a 429 and an answer lost
// after LINE accepted a batch: everyone reachable gets it once, the rate limit is never
// exceeded, the lost answer's retry is recognised by its retry key (409).
func TestAnnouncementBatchesRateLimitAndFaults(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	s := w.app.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	reach, not := cityFamilies(t, w, 1000, true)
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")

	const size, perSecond = 25, 20
	w.sim.SetRateLimit(linesim.EndpointMulticast, linesim.RateLimit{Requests: perSecond, Per: time.Second})
	s.LINE.Client.SetLimit("multicast", perSecond)
	s.Announce.BatchSize = size
	w.sim.FailNext(linesim.EndpointMulticast, 1, http.StatusTooManyRequests)
	w.sim.FailNextAfterAccept(linesim.EndpointMulticast, 1, http.StatusInternalServerError)

	kocho := signedInAs(t, w, "sakura.kocho")
	id, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: "運動会のお知らせ", Body: "10月の運動会は予定どおり行います。"}, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Announce.Preview(kocho, id)
	if err != nil || p.Guardians != len(reach) {
		t.Fatalf("preview: %+v %v, want %d guardians", p, err, len(reach))
	}
	if err := s.Announce.Send(kocho, id, false); err != nil {
		t.Fatal(err)
	}
	waitSent(t, w, id, 60*time.Second)
	assertOnce(t, w, "運動会のお知らせ", reach, not)

	batches := (len(reach) + size - 1) / size
	statuses := map[int]int{}
	var accepted []time.Time
	for _, c := range w.sim.Calls() {
		if c.Endpoint == linesim.EndpointMulticast {
			statuses[c.Status]++
			if c.Status == http.StatusOK {
				accepted = append(accepted, c.Time)
			}
		}
	}
	// One 429 injected, none earned; one answer lost (500) whose retry got 409.
	if statuses[http.StatusOK] != batches-1 || statuses[http.StatusTooManyRequests] != 1 || statuses[http.StatusInternalServerError] != 1 || statuses[http.StatusConflict] != 1 {
		t.Errorf("multicast answers %v for %d batches", statuses, batches)
	}
	for i := perSecond; i < len(accepted); i++ {
		if accepted[i].Sub(accepted[i-perSecond]) < time.Second {
			t.Errorf("more than %d multicasts within a second", perSecond)
			break
		}
	}
	an, err := s.Announce.Get(kocho, id)
	if err != nil {
		t.Fatal(err)
	}
	blocked := 0
	for i := range 1000 {
		if i%10 == 3 {
			blocked++
		}
	}
	if an.Counts.Sent != len(reach) || an.Counts.Skipped != blocked || an.Counts.Failed != 0 {
		t.Errorf("counts %+v, want %d sent and %d skipped", an.Counts, len(reach), blocked)
	}
}
