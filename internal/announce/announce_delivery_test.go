package announce_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/benchkit"
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

// TestRecipientsReadFromTheirBatchesUntilRecorded checks the window between a batch's
// multicast and the writing of its recipients' rows (off the send path): the counts,
// the unread and failed lists and a parent's list read the same from the batches as
// from the rows; a parent's open in the window writes their own batch's rows and counts
// the open; the record job then writes the rest, keeping the open.
func TestRecipientsReadFromTheirBatchesUntilRecorded(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	reach, _ := apptest.CityFamilies(t, w, 60, true)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	s.Announce.BatchSize = 25
	id, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: "個人面談のお知らせ", Body: "12月に個人面談を行います。"}, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Announce.Send(kocho, id, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, id, 30*time.Second)
	apptest.WaitQuiet(t, w.App.Pool())
	assertOnce(t, w, "個人面談のお知らせ", reach, nil)

	count := func(q string) int { return apptest.Count(t, w, q, id) }
	const rows = `SELECT count(*) FROM announcement_recipient WHERE announcement_id = $1 AND state = 'sent'`
	const unrecorded = `SELECT count(*) FROM announcement_batch WHERE announcement_id = $1 AND NOT recorded`
	if n, u := count(rows), count(unrecorded); n != len(reach) || u != 0 {
		t.Fatalf("after the record job: %d rows, %d batches unrecorded; want %d, 0", n, u, len(reach))
	}
	type reading struct {
		counts  announce.Counts
		unread  []int64
		parents int // guardians whose list shows the announcement
	}
	var guardians []int64
	if err := s.Pool.QueryRow(ctx, `SELECT array_agg(g ORDER BY g) FROM announcement_batch, unnest(guardian_ids) g WHERE announcement_id = $1`,
		id).Scan(&guardians); err != nil {
		t.Fatal(err)
	}
	read := func() reading {
		t.Helper()
		an, err := s.Announce.Get(kocho, id)
		if err != nil {
			t.Fatal(err)
		}
		unread, err := s.Announce.Recipients(kocho, id, "unread")
		if err != nil {
			t.Fatal(err)
		}
		r := reading{counts: an.Counts}
		for _, x := range unread {
			r.unread = append(r.unread, x.GuardianID)
		}
		if err := s.Announce.Tx.InTx(ctx, func(ctx context.Context) error {
			for _, g := range guardians {
				items, err := s.Announce.Store.FindGuardianAnnouncements(ctx, g, 10)
				if err != nil {
					return err
				}
				if len(items) == 1 && items[0].ID == id && items[0].Title.Reveal() == "個人面談のお知らせ" {
					r.parents++
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	recorded := read()
	if c := recorded.counts; c.Total != len(reach)+6 || c.Sent != len(reach) || c.Skipped != 6 || c.Queued != 0 || c.Opened != 0 ||
		len(recorded.unread) != len(reach) || recorded.parents != len(reach) {
		t.Fatalf("recorded: %+v, %d unread, %d parents", c, len(recorded.unread), recorded.parents)
	}

	// Back to the moment the batches were sent: their rows not yet written.
	if _, err := s.Pool.Exec(ctx, `WITH d AS (DELETE FROM announcement_recipient WHERE announcement_id = $1 AND batch_id IS NOT NULL)
		UPDATE announcement_batch SET recorded = false WHERE announcement_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if n := count(rows); n != 0 {
		t.Fatalf("%d rows left", n)
	}
	if got := read(); !reflect.DeepEqual(got, recorded) {
		t.Fatalf("from the batches: %+v\nfrom the rows: %+v", got, recorded)
	}

	// A parent opens it: their batch's rows are written, the open counted.
	opener, stranger := guardians[len(guardians)-1], int64(0)
	if err := s.Pool.QueryRow(ctx, `SELECT min(id) FROM guardian WHERE id <> ALL($1)`, guardians).Scan(&stranger); err != nil {
		t.Fatal(err)
	}
	open := func(g int64) bool {
		t.Helper()
		var ok bool
		if err := s.Announce.Tx.InTx(ctx, func(ctx context.Context) error {
			var err error
			ok, err = s.Announce.Store.MarkOpened(ctx, id, g, time.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if open(stranger) {
		t.Error("a guardian outside the audience opened it")
	}
	if !open(opener) {
		t.Fatal("the opener is not a recipient")
	}
	var batchSize int
	if err := s.Pool.QueryRow(ctx, `SELECT cardinality(guardian_ids) FROM announcement_batch WHERE announcement_id = $1 AND $2 = ANY(guardian_ids)`,
		id, opener).Scan(&batchSize); err != nil {
		t.Fatal(err)
	}
	if n, u := count(rows), count(unrecorded); n != batchSize || u != 1 {
		t.Errorf("after one open: %d rows, %d batches unrecorded; want %d, 1", n, u, batchSize)
	}
	want := recorded
	want.counts.Opened = 1
	want.unread = slices.DeleteFunc(slices.Clone(recorded.unread), func(g int64) bool { return g == opener })
	if got := read(); !reflect.DeepEqual(got, want) {
		t.Errorf("after one open: %+v\nwant %+v", got, want)
	}

	// The record job writes the other batch's rows; the open is kept.
	if _, err := s.Jobs.Insert(ctx, announce.RecordArgs{AnnouncementID: id}, nil); err != nil {
		t.Fatal(err)
	}
	apptest.WaitQuiet(t, w.App.Pool())
	if n, u := count(rows), count(unrecorded); n != len(reach) || u != 0 {
		t.Errorf("after the record job: %d rows, %d batches unrecorded", n, u)
	}
	if got := read(); !reflect.DeepEqual(got, want) {
		t.Errorf("recorded again: %+v\nwant %+v", got, want)
	}
	if !open(opener) || count(`SELECT opens FROM announcement_recipient WHERE announcement_id = $1 AND guardian_id = `+apptest.Itoa(opener)) != 2 {
		t.Error("the second open was not counted")
	}

	// Unrecorded again; a recording transaction holds both batches when a parent opens:
	// the open waits for it and then counts on the rows it wrote; a second recorder
	// meanwhile skips the held batches instead of waiting.
	if _, err := s.Pool.Exec(ctx, `WITH d AS (DELETE FROM announcement_recipient WHERE announcement_id = $1 AND batch_id IS NOT NULL)
		UPDATE announcement_batch SET recorded = false WHERE announcement_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	held, release, recorderDone := make(chan int, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		recorderDone <- s.Announce.Tx.InTx(ctx, func(ctx context.Context) error {
			n, err := s.Announce.Store.RecordRecipients(ctx, id, 20)
			held <- n
			<-release
			return err
		})
	}()
	if n := <-held; n != 2 {
		t.Fatalf("the recorder took %d batches, want 2", n)
	}
	if err := s.Announce.Tx.InTx(ctx, func(ctx context.Context) error {
		n, err := s.Announce.Store.RecordRecipients(ctx, id, 20)
		if err == nil && n != 0 {
			t.Errorf("a second recorder took %d held batches", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	opened := make(chan bool, 1)
	go func() {
		var ok bool
		err := s.Announce.Tx.InTx(ctx, func(ctx context.Context) error {
			var err error
			ok, err = s.Announce.Store.MarkOpened(ctx, id, opener, time.Now())
			return err
		})
		if err != nil {
			t.Error(err)
		}
		opened <- ok
	}()
	for deadline := time.Now().Add(30 * time.Second); count(`SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND $1::bigint > 0`) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the open did not wait for the recorder")
		}
	}
	close(release)
	if err := <-recorderDone; err != nil {
		t.Fatal(err)
	}
	if !<-opened {
		t.Fatal("the open found no recipient")
	}
	if n, u := count(rows), count(unrecorded); n != len(reach) || u != 0 {
		t.Errorf("after the recorder and the open: %d rows, %d batches unrecorded", n, u)
	}
	if got := read(); !reflect.DeepEqual(got, want) {
		t.Errorf("after the recorder and the open: %+v\nwant %+v", got, want)
	}
}

// TestQuotaShortfallsOverManyChannels checks the quota courtesy of a city-wide send:
// the quotas of a dozen channels are read (several at once), the channels whose
// remaining monthly messages are fewer than their guardians are listed in the order of
// reach, a send without the sender's confirmation is refused and changes nothing, and
// with it the alert goes.
func TestQuotaShortfallsOverManyChannels(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	board := apptest.SignedInAs(t, w, "midori.kyoiku")
	g, err := benchkit.SeedGroup(ctx, s, w.Sim, "", authz.ActorFrom(board).BoardID, "割当", 12, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	// Channel 3 has 2 messages left for its 3 guardians, channel 8 one; channel 5's
	// limit leaves enough; the others have no limit.
	for i, limit := range map[int]int64{2: 2, 7: 1, 4: 100} {
		if err := w.Sim.SetMonthlyQuota(g.Channels[i].LineID, limit); err != nil {
			t.Fatal(err)
		}
	}
	id, err := s.Announce.Create(board, announce.Compose{Kind: announce.Safety, Audience: announce.Audience{Schools: g.Schools}, Title: "大雨警報",
		Safety: announce.SafetyFields{OccurredAt: "本日 6時", Place: "市内全域", Details: "大雨警報が発表されました。", Response: "臨時休校とします。"}}, "市内12校")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Announce.Preview(board, id)
	if err != nil {
		t.Fatal(err)
	}
	var lineIDs []string
	for _, q := range p.OverQuota {
		ch, err := s.LINE.FindChannel(ctx, q.ChannelID)
		if err != nil {
			t.Fatal(err)
		}
		lineIDs = append(lineIDs, fmt.Sprintf("%s %d/%d", ch.LineChannelID, q.Remains, q.Needed))
	}
	if want := []string{g.Channels[2].LineID + " 2/3", g.Channels[7].LineID + " 1/3"}; p.Guardians != 36 || !reflect.DeepEqual(lineIDs, want) {
		t.Fatalf("preview: %d guardians, short %q; want 36, %q", p.Guardians, lineIDs, want)
	}
	if _, err := s.Announce.Send(board, id, false); apperr.FieldsOf(err)["quota_ok"] != "announce.quota.confirm" {
		t.Fatalf("send without the confirmation: %v", err)
	}
	if an, err := s.Announce.Get(board, id); err != nil || an.State != announce.Draft {
		t.Fatalf("refused send left %s (%v)", an.State, err)
	}
	if _, err := s.Announce.Send(board, id, true); err != nil {
		t.Fatal(err)
	}
	// The channels with room deliver; the two short ones meet LINE's 429 for the month
	// and wait for a retry (a plan may be raised meanwhile).
	const state = `SELECT count(*) FILTER (WHERE state = 'sent') * 100 + count(*) FILTER (WHERE state = 'queued' AND last_error LIKE '429%')
		FROM announcement_batch WHERE announcement_id = $1`
	for deadline := time.Now().Add(30 * time.Second); apptest.Count(t, w, state, id) != 10*100+2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("batches: %d (sent × 100 + waiting after a 429)", apptest.Count(t, w, state, id))
		}
	}
	for i, c := range g.Channels {
		for _, u := range c.Users {
			n := 0
			for _, it := range w.Sim.Chat(c.LineID, u) {
				if it.Delivered && strings.Contains(it.Text, "大雨警報") {
					n++
				}
			}
			if short := i == 2 || i == 7; n != 1 && !short || n != 0 && short {
				t.Errorf("channel %d: a guardian received the alert %d times", i+1, n)
			}
		}
	}
}
