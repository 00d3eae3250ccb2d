package line_test

import (
	"context"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
)

// TestQuotaUsedAsksLINEOnceAMinute: the work queues show a channel's quota figures as
// LINE gave them within the last minute, so a home page fetched again on every live
// event does not ask LINE each time; after a minute it asks again.
func TestQuotaUsedAsksLINEOnceAMinute(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sakura, _, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	now := time.Now()
	s.LINE.Clock.Set(now)
	asked := func() int { return w.Sim.CallCount(linesim.EndpointQuota) }
	before := asked()
	for range 3 {
		if _, ok, err := s.LINE.QuotaUsed(kocho, sakura); err != nil || !ok {
			t.Fatalf("quota: %v %v", ok, err)
		}
	}
	if n := asked() - before; n != 1 {
		t.Fatalf("LINE asked %d times for three looks within a minute, want once", n)
	}
	s.LINE.Clock.Set(now.Add(line.QuotaFresh + time.Second))
	if _, ok, err := s.LINE.QuotaUsed(kocho, sakura); err != nil || !ok {
		t.Fatalf("quota after a minute: %v %v", ok, err)
	}
	if n := asked() - before; n != 2 {
		t.Fatalf("LINE asked %d times in all after a minute, want twice", n)
	}
	// A teacher may not see the figure: the cache does not stand in for the check.
	if _, _, err := s.LINE.QuotaUsed(apptest.SignedInAs(t, w, "sakura.tannin11"), sakura); err == nil {
		t.Error("a teacher read the school's quota")
	}
}
