package announce_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
)

// TestAnnouncementCrashAndResume kills the app (SIGKILL, in another process) in the
// middle of a 50,000-recipient send, while LINE holds answers to batches it has already
// delivered; another instance takes the stuck batches over and finishes. Every
// recipient has the announcement exactly once, as the simulator recorded it: the
// batches LINE had accepted are recognised by their retry keys (409).
func TestAnnouncementCrashAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 recipients")
	}
	crashAndResume(t, false)
}

// TestAnnouncementCrashWhileResolving kills the app while its start job is still
// committing the audience in steps (batches already queued, some sent): the next
// attempt of the start job fences the dead run off and places only the guardians it
// had not placed, so everyone has the announcement exactly once.
func TestAnnouncementCrashWhileResolving(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 recipients")
	}
	crashAndResume(t, true)
}

func crashAndResume(t *testing.T, whileResolving bool) {
	t.Parallel()
	ctx := context.Background()
	w := apptest.StartLineWorld(t)
	if _, err := demo.SeedStaff(ctx, w.App.Services()); err != nil {
		t.Fatal(err)
	}
	reach, _ := apptest.CityFamilies(t, w, 50_000, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	cfg := *w.App.Config()
	// The seeding instance stops: only the child below sends.
	if err := w.App.Close(ctx); err != nil {
		t.Fatal(err)
	}

	tools, err := app.OpenTools(ctx, &cfg, logging.New(io.Discard, slog.LevelError))
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Close()
	s := tools.Services
	kocho, err := s.Staff.FindByLogin(ctx, "sakura.kocho")
	if err != nil {
		t.Fatal(err)
	}
	actor, err := s.Staff.Actor(ctx, kocho.ID, kocho.SessionEpoch)
	if err != nil {
		t.Fatal(err)
	}
	as := authz.WithActor(ctx, actor)
	id, err := s.Announce.Create(as, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: "台風接近に伴う臨時休校", Body: "明日は臨時休校とします。"}, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Announce.Send(as, id, false); err != nil {
		t.Fatal(err)
	}

	// LINE answers the first 30 batches; the next ones it delivers and then holds the
	// answers. The app is killed while they wait.
	w.Sim.HoldAfter(linesim.EndpointMulticast, 30)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), apptest.ChildEnv+"=1", "DATABASE_URL="+cfg.DatabaseURL, "RENRAKU_ADDR=127.0.0.1:0", "RENRAKU_METRICS_ADDR=127.0.0.1:0",
		"RENRAKU_KEYSET_FILE="+cfg.KeysetFile, "RENRAKU_MASTER_KEY="+base64.StdEncoding.EncodeToString(cfg.MasterKey),
		"RENRAKU_LINE_API_URL="+cfg.LineAPIURL.String(), "RENRAKU_LINE_DATA_API_URL="+cfg.LineDataAPIURL.String())
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("child: %q %v", line, err)
	}
	// The kill comes once LINE holds two answers, or (whileResolving) as soon as a
	// batch is queued while the audience is still open.
	midResolve := false
	for deadline := time.Now().Add(60 * time.Second); w.Sim.Held(linesim.EndpointMulticast) < 2; time.Sleep(2 * time.Millisecond) {
		if whileResolving {
			var open bool
			var batches int
			if err := tools.Services.Pool.QueryRow(ctx, `SELECT resolving IS NOT NULL, (SELECT count(*) FROM announcement_batch WHERE announcement_id = $1)
				FROM announcement WHERE id = $1`, id).Scan(&open, &batches); err != nil {
				t.Fatal(err)
			}
			if midResolve = open && batches > 0; midResolve {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no batch held; %d multicasts", w.Sim.CallCount(linesim.EndpointMulticast))
		}
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	killed = true
	held := w.Sim.Held(linesim.EndpointMulticast)
	w.Sim.Release(linesim.EndpointMulticast)

	// Another instance takes the stuck batches over.
	cfg2 := cfg
	// Jobs time out at half of it: long enough for the start job to resolve the rest
	// on a loaded machine under the race detector (an attempt cut short keeps its
	// committed steps, but River waits longer before each next attempt).
	cfg2.JobRescueAfter = 20 * time.Second
	b := app.New(&cfg2, logging.New(io.Discard, slog.LevelError))
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	waitSentIn(t, b.Pool(), id, 3*time.Minute)

	assertOnce(t, w, "台風接近に伴う臨時休校", reach, nil)
	conflicts := 0
	for _, c := range w.Sim.Calls() {
		if c.Endpoint == linesim.EndpointMulticast && c.Status == http.StatusConflict {
			conflicts++
		}
	}
	if whileResolving {
		if !midResolve {
			t.Logf("the audience was resolved before the kill: only the batches' crash window was tested")
		}
		t.Logf("%d recipients, killed while resolving: %v, %d batches held, %d recognised retries", len(reach), midResolve, held, conflicts)
		return
	}
	if conflicts == 0 {
		t.Errorf("%d batches were held when the app died, yet no retry was recognised by its key", held)
	}
	t.Logf("%d recipients, %d batches held at the kill, %d recognised retries", len(reach), held, conflicts)
}

// waitSentIn waits until an announcement has finished sending, reading pool.
func waitSentIn(t *testing.T, pool *pgxpool.Pool, id int64, limit time.Duration) {
	t.Helper()
	var state string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := pool.QueryRow(context.Background(), `SELECT state FROM announcement WHERE id = $1`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == announce.Sent {
			return
		}
	}
	t.Fatalf("announcement %d still %s", id, state)
}
