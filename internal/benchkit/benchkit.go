// Package benchkit is what the benchmark programs under cmd/ share: the real app started
// in the program's process against a LINE simulator on 127.0.0.1, the machine's
// description and load, a board's schools and families seeded in bulk (COPY, encrypted
// as the stores encrypt) and the process's peak memory. It is not used by renraku
// itself.
package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// Env is a started app and its LINE simulator.
type Env struct {
	App    *app.App
	Sim    *linesim.Sim
	SimURL *url.URL
	dir    string
	srv    *httptest.Server
	dbURL  string
	key    []byte
	keyset string
	apart  *Server // the app as a child process, after ServeApart
}

// Services are the app's services.
func (e *Env) Services() *app.Services { return e.App.Services() }

// Start migrates the database at dbURL, makes a throwaway key set and starts the app
// against a new LINE simulator (its handler wrapped by wrap, when given). The demo staff
// get cheap password hashes: the benches sign them in often.
func Start(ctx context.Context, name, dbURL string, wrap func(http.Handler) http.Handler) (*Env, error) {
	credential.Params.Memory, credential.Params.Iterations = 64, 1
	m, err := schema.NewMigrator(dbURL)
	if err != nil {
		return nil, err
	}
	if err := m.Up(); err != nil {
		m.Close()
		return nil, err
	}
	m.Close()
	dir, err := os.MkdirTemp("", name)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	mk, _ := vault.MasterFromKey(key)
	keyset := filepath.Join(dir, "keyset.json")
	if err := vault.Generate(keyset, mk); err != nil {
		return nil, err
	}
	e := &Env{Sim: linesim.New(linesim.Options{AllowHTTPURLs: true}), dir: dir, dbURL: dbURL, key: key, keyset: keyset}
	var h http.Handler = e.Sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	e.srv = httptest.NewServer(h)
	e.SimURL, _ = url.Parse(e.srv.URL)
	// The bench migrates and runs on one throwaway superuser connection.
	cfg := &config.Config{DatabaseURL: dbURL, AllowOwnerRole: true, Addr: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: e.SimURL, LineDataAPIURL: e.SimURL}
	e.App = app.New(cfg, logging.New(io.Discard, slog.LevelError))
	if err := e.App.Start(ctx); err != nil {
		e.srv.Close()
		return nil, err
	}
	return e, nil
}

// ServeApart stops the app in this process (its services are closed with it) and
// starts `renraku serve` as a child process on the same address, with the same
// database, keys and simulator: what was seeded stays reachable, and the measured
// load is served by a process holding the app only. Env.Close stops it.
func (e *Env) ServeApart(ctx context.Context) (*Server, error) {
	addr := strings.TrimPrefix(e.App.URL(), "http://")
	if err := e.App.Close(ctx); err != nil {
		return nil, err
	}
	s, err := Serve(ctx, ServeConfig{Dir: e.dir, Addr: addr, DatabaseURL: e.dbURL, Keyset: e.keyset, MasterKey: e.key, SimURL: e.SimURL})
	if err != nil {
		return nil, err
	}
	e.apart = s
	return s, nil
}

// Close stops the app (in this process or apart) and the simulator and removes the
// key set.
func (e *Env) Close(ctx context.Context) {
	if e.apart != nil {
		e.apart.Stop()
	} else {
		_ = e.App.Close(ctx)
	}
	e.srv.Close()
	_ = os.RemoveAll(e.dir)
}

// Machine prints what the figures are measured on: CPUs, memory, Go, PostgreSQL and
// the settings that decide its speed (fsync among them).
func Machine(ctx context.Context, s *app.Services) {
	var pg string
	_ = s.Pool.QueryRow(ctx, `SELECT version()`).Scan(&pg)
	var settings []string
	for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "work_mem"} {
		var v string
		_ = s.Pool.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v)
		settings = append(settings, name+"="+v)
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1] + " kB"
	}
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	fmt.Printf("machine: %d CPUs (%s), memory %s, %s, %s\n", runtime.NumCPU(), cpu, mem, runtime.Version(), pg)
	fmt.Printf("postgres settings: %s\n", strings.Join(settings, ", "))
	LoadAverage("before seeding")
}

// LoadAverage prints the machine's load: the bench shares it with whatever else runs.
func LoadAverage(when string) {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average %s: %s\n", when, strings.Join(strings.Fields(string(b))[:3], " "))
	}
}

// PeakRSS is the process's peak resident memory (VmHWM), in MiB; 0 when unknown.
func PeakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb float64
			_, _ = fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb / 1024
		}
	}
	return 0
}

// Channel is a simulated channel and the LINE user IDs of its guardians, in the order
// of their guardian IDs (the order the app batches them in).
type Channel struct {
	LineID string
	Secret string
	Token  string
	Users  []string
}

// Group is a set of seeded schools and their channels.
type Group struct {
	Schools  []int64
	Channels []Channel
}

// Guardians counts the group's guardians.
func (g *Group) Guardians() int {
	n := 0
	for _, c := range g.Channels {
		n += len(c.Users)
	}
	return n
}

// Batches returns the multicast batches of each channel, as the app forms them.
func (g *Group) Batches() [][][]string {
	out := make([][][]string, len(g.Channels))
	for i, c := range g.Channels {
		out[i] = lineapi.Batches(c.Users)
	}
	return out
}

// SeedGroup creates n schools in the board, each with six classes of its current year
// (1年1組 … 6年1組) and perSchool families (a verified guardian following the account,
// one child each, over the classes), on a channel of its own or on one channel they
// share. Districts group five schools each; names start with prefix. With webhookBase
// (the app's URL), the simulator sends the channels' events to the app.
func SeedGroup(ctx context.Context, s *app.Services, sim *linesim.Sim, webhookBase string, boardID int64, prefix string, n, perSchool int, sharedChannel bool) (*Group, error) {
	op := audit.OperatorActor
	g := &Group{}
	var fams []postgres.Family
	var chID int64
	for i := range n {
		sc, _, err := s.Schools.EnsureSchool(ctx, op, fmt.Sprint(boardID), school.School{Name: fmt.Sprintf("みどり市立%s%02d小学校", prefix, i+1),
			Type: school.Elementary, District: fmt.Sprintf("%s%d学区", prefix, i/5+1)})
		if err != nil {
			return nil, err
		}
		g.Schools = append(g.Schools, sc.ID)
		rows, err := s.Pool.Query(ctx, `INSERT INTO class (school_id, year, grade, name)
			SELECT sc.id, sc.current_year, g, '1組' FROM school sc, generate_series(1, 6) g WHERE sc.id = $1 RETURNING id`, sc.ID)
		if err != nil {
			return nil, err
		}
		classes, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, err
		}
		if !sharedChannel || i == 0 {
			lineID := fmt.Sprintf("30%08d", i+1)
			if sharedChannel {
				lineID = "3900000000"
			}
			cd := Channel{LineID: lineID, Secret: RandomHex(16), Token: RandomHex(32)}
			hook := ""
			if webhookBase != "" {
				hook = webhookBase + "/line/webhook/" + lineID
			}
			if err := sim.AddChannel(linesim.ChannelConfig{ID: lineID, Secret: cd.Secret, AccessToken: cd.Token, WebhookURL: hook,
				Name: fmt.Sprintf("みどり市 %s%02d", prefix, i+1)}); err != nil {
				return nil, err
			}
			g.Channels = append(g.Channels, cd)
		}
		cd := &g.Channels[len(g.Channels)-1]
		ch := line.Channel{LineChannelID: cd.LineID, Secret: vault.Personal(cd.Secret), AccessToken: vault.Personal(cd.Token)}
		if _, err := s.LINE.SetChannel(ctx, op, sc.ID, boardID, ch); err != nil {
			return nil, err
		}
		saved, err := s.LINE.FindChannelByLineID(ctx, cd.LineID)
		if err != nil {
			return nil, err
		}
		chID = saved.ID
		users, err := sim.AddFriends(cd.LineID, perSchool, "ja")
		if err != nil {
			return nil, err
		}
		for j, u := range users {
			cd.Users = append(cd.Users, u.ID)
			k := len(fams)
			fams = append(fams, postgres.Family{UserID: u.ID, ChannelID: chID, SchoolID: sc.ID, ClassID: classes[j%len(classes)],
				Nickname: fmt.Sprintf("保護者%s%d", prefix, k), ChildName: fmt.Sprintf("こども%s%06d", prefix, k), Language: "ja",
				Verified: true, Following: true})
		}
	}
	return g, postgres.SeedFamilies(ctx, s.Pool, s.Vault, fams)
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
