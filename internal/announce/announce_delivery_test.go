package announce_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/postgres"
)

// assertOnce checks that each user of reach received want exactly once and nobody of
// not received it.
func assertOnce(t *testing.T, w *apptest.LineWorld, want string, reach, not []linesim.User) {
	t.Helper()
	bad := 0
	for _, u := range reach {
		if n := apptest.Received(w, u.ID, want); n != 1 && bad < 5 {
			bad++
			t.Errorf("%s received it %d times", u.ID[:8], n)
		}
	}
	for _, u := range not {
		if n := apptest.Received(w, u.ID, want); n != 0 && bad < 5 {
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
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	reach, not := apptest.CityFamilies(t, w, 1000, true)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")

	const size, perSecond = 25, 20
	w.Sim.SetRateLimit(linesim.EndpointMulticast, linesim.RateLimit{Requests: perSecond, Per: time.Second})
	s.LINE.Client.SetLimit("multicast", perSecond)
	s.Announce.BatchSize = size
	w.Sim.FailNext(linesim.EndpointMulticast, 1, http.StatusTooManyRequests)
	w.Sim.FailNextAfterAccept(linesim.EndpointMulticast, 1, http.StatusInternalServerError)

	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	id, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: "運動会のお知らせ", Body: "10月の運動会は予定どおり行います。"}, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Announce.Preview(kocho, id)
	if err != nil || p.Guardians != len(reach) {
		t.Fatalf("preview: %+v %v, want %d guardians", p, err, len(reach))
	}
	if _, err := s.Announce.Send(kocho, id, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, id, 60*time.Second)
	assertOnce(t, w, "運動会のお知らせ", reach, not)

	batches := (len(reach) + size - 1) / size
	statuses := map[int]int{}
	var accepted []time.Time
	for _, c := range w.Sim.Calls() {
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

// TestAnnouncementScheduleCancelRetryAndDistricts: a scheduled send goes at its time; a
// cancelled one never goes, even when its job runs; a batch LINE refuses is failed and
// sent again by staff under the same key; the board's alert to a district reaches that
// district's schools only.
func TestAnnouncementScheduleCancelRetryAndDistricts(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	reach, _ := apptest.CityFamilies(t, w, 20, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	class := announce.Audience{SchoolID: sakuraID, Classes: []int64{class11}}
	create := func(title string, at time.Time) int64 {
		t.Helper()
		id, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: class, Title: title, Body: "本文", ScheduledAt: at}, "1年1組")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Announce.Send(kocho, id, false); err != nil {
			t.Fatal(err)
		}
		return id
	}

	soon := create("三秒後のお知らせ", time.Now().Add(3*time.Second))
	later := create("取り消すお知らせ", time.Now().Add(time.Hour))
	if err := s.Announce.Cancel(kocho, later); err != nil {
		t.Fatal(err)
	}
	// Its job runs anyway (as if the hour had passed): nothing is sent.
	if _, err := s.Pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now(), state = 'available'
		WHERE kind = 'announce.start' AND args->>'announcement_id' = $1`, apptest.Itoa(later)); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, soon, 30*time.Second)
	assertOnce(t, w, "三秒後のお知らせ", reach, nil)
	var sentAt, scheduledAt time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT started_at, scheduled_at FROM announcement WHERE id = $1`, soon).Scan(&sentAt, &scheduledAt); err != nil {
		t.Fatal(err)
	}
	if sentAt.Before(scheduledAt) {
		t.Errorf("sent at %v, before its time %v", sentAt, scheduledAt)
	}
	apptest.WaitQuiet(t, w.App.Pool())
	if an, err := s.Announce.Get(kocho, later); err != nil || an.State != announce.Cancelled || an.Counts.Total != 0 {
		t.Errorf("cancelled announcement: %s, %d recipients (%v)", an.State, an.Counts.Total, err)
	}
	assertOnce(t, w, "取り消すお知らせ", nil, reach)

	// LINE refuses one batch (400): it is failed; staff send it again.
	s.Announce.BatchSize = 5
	w.Sim.FailNext(linesim.EndpointMulticast, 1, http.StatusBadRequest)
	failing := create("再送するお知らせ", time.Time{})
	apptest.WaitSent(t, w, failing, 30*time.Second)
	an, err := s.Announce.Get(kocho, failing)
	if err != nil || an.Counts.Failed != 5 || an.Counts.Sent != 15 {
		t.Fatalf("before retry: %+v (%v)", an.Counts, err)
	}
	failed, err := s.Announce.Recipients(kocho, failing, "failed")
	if err != nil || len(failed) != 5 {
		t.Fatalf("failed list: %d %v", len(failed), err)
	}
	if err := s.Announce.Retry(kocho, failing); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, failing, 30*time.Second)
	assertOnce(t, w, "再送するお知らせ", reach, nil)
	if an, err := s.Announce.Get(kocho, failing); err != nil || an.Counts.Sent != 20 || an.Counts.Failed != 0 {
		t.Errorf("after retry: %+v (%v)", an.Counts, err)
	}

	// The board's safety alert to ひかり学区 reaches ひかり's families, not さくら's.
	hikariID, classA, _ := apptest.SchoolAndClass(t, w, demo.Schools[1].Name, "1年A組")
	hikari, err := w.Sim.AddFriends(w.Ch.LineChannelID, 3, "ja")
	if err != nil {
		t.Fatal(err)
	}
	var fams []postgres.Family
	for i, u := range hikari {
		fams = append(fams, postgres.Family{UserID: u.ID, ChannelID: w.Ch.ID, SchoolID: hikariID, ClassID: classA, Nickname: fmt.Sprintf("ひかり保護者%d", i),
			ChildName: fmt.Sprintf("ひかり 生徒%d", i), Verified: true, Following: true})
	}
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, fams); err != nil {
		t.Fatal(err)
	}
	board := apptest.SignedInAs(t, w, "midori.kyoiku")
	alert := announce.Compose{Kind: announce.Safety, Audience: announce.Audience{Districts: []string{"ひかり学区"}}, Title: "クマの目撃情報",
		Safety: announce.SafetyFields{OccurredAt: "12月1日 7時ごろ", Place: "ひかり中学校の裏山", Details: "クマ1頭", Response: "登下校時は集団で"}}
	id, err := s.Announce.Create(board, alert, "ひかり学区")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Announce.Send(board, id, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, id, 30*time.Second)
	assertOnce(t, w, "クマの目撃情報", hikari, reach)
	// A school administrator cannot address the board's audience.
	if _, err := s.Announce.Create(kocho, alert, "ひかり学区"); err == nil {
		t.Error("a school administrator sent to a district")
	}
}
