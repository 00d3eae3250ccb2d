// Package app assembles renraku from its parts (config → pool → stores → services →
// router) and runs its HTTP servers. cmd/renraku calls it for serve and dev; end-to-end
// tests call it to start the whole app on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/renraku/renraku/internal/schema"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/web"
)

// App is one running renraku instance.
type App struct {
	cfg *config.Config
	log *slog.Logger

	// Mounts adds handlers under fixed prefixes (the dev mode's LINE simulator). Set
	// before Start.
	Mounts map[string]http.Handler

	// starting holds /readyz at 503 from HoldReady until ReleaseReady (the dev mode
	// seeding its demo data), so "ready" means the printed URLs work.
	starting atomic.Bool

	pool          *pgxpool.Pool
	services      *Services
	metrics       *web.Metrics
	httpServer    *http.Server
	metricsServer *http.Server
	listener      net.Listener
	metricsLn     net.Listener
	baseURL       *url.URL
	errc          chan error
	liveHub       *live.Hub
	notifyHub     *notify.Hub
	stopListen    context.CancelFunc
}

// HoldReady makes /readyz answer 503 until ReleaseReady, for work that must finish
// before the app is ready although it serves (call before Start).
func (a *App) HoldReady() { a.starting.Store(true) }

// ReleaseReady ends HoldReady.
func (a *App) ReleaseReady() { a.starting.Store(false) }

// heldReadiness is not ready while held, else asks next.
type heldReadiness struct {
	held *atomic.Bool
	next web.ReadyChecker
}

// Ready implements web.ReadyChecker.
func (h heldReadiness) Ready(ctx context.Context) error {
	if h.held.Load() {
		return errors.New("app: still starting")
	}
	return h.next.Ready(ctx)
}

// New returns an App for cfg. Nothing is opened until Start.
func New(cfg *config.Config, log *slog.Logger) *App {
	return &App{cfg: cfg, log: log, errc: make(chan error, 2)}
}

// Start connects to the database, refuses a schema that is not current, binds the
// listeners and starts serving. It returns once the app accepts connections.
func (a *App) Start(ctx context.Context) error {
	pool, err := postgres.Open(ctx, a.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	a.pool = pool
	st, err := schema.StatusOf(ctx, pool)
	if err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return fmt.Errorf("database at version %d, binary needs %d: %w", st.Current, st.Latest, err)
	}
	// A server that can rewrite the audit log lets whoever takes it over cut the log's
	// newest rows unnoticed: it runs as a member of renraku_app unless told otherwise.
	if err := schema.CheckAppRole(ctx, pool); err != nil {
		if !errors.Is(err, schema.ErrOwnerRole) || !a.cfg.AllowOwnerRole {
			return err
		}
		a.log.Warn("RENRAKU_ALLOW_OWNER_ROLE: the server runs as a database role that can rewrite the audit log; whoever takes it over can cut the log's newest rows", "err", err)
	}

	a.services, err = buildServices(ctx, a.cfg, a.log, pool, true)
	if err != nil {
		return err
	}
	if err := a.services.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	a.services.LINE.StartPump(ctx)

	a.listener, err = net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on RENRAKU_ADDR %s: %w", a.cfg.Addr, err)
	}
	a.baseURL = a.cfg.BaseURL
	if a.baseURL == nil {
		a.baseURL = &url.URL{Scheme: "http", Host: a.listener.Addr().String()}
	}
	a.services.Links.BaseURL = strings.TrimSuffix(a.baseURL.String(), "/")
	a.liveHub = live.NewHub()
	listenCtx, stopListen := context.WithCancel(context.WithoutCancel(ctx))
	a.stopListen = stopListen
	go postgres.Listen(listenCtx, pool, live.Channel, a.log, a.liveHub.Notify)
	a.notifyHub = notify.NewHub()
	go postgres.Listen(listenCtx, pool, notify.Channel, a.log, a.notifyHub.Notify)
	names := a.services.Inbox.Names
	go postgres.ListenWith(listenCtx, pool, inbox.NamesChannel, a.log, names.Notify, names.Listening)
	go postgres.ListenWith(listenCtx, pool, line.ChannelsChannel, a.log, a.services.LINE.ChannelChanged, a.services.LINE.ChannelsListening)
	a.metrics = web.NewMetrics()
	srv := &web.Server{
		Log:            a.log,
		Catalog:        a.services.Catalog,
		Ready:          heldReadiness{held: &a.starting, next: postgres.Readiness{Pool: pool}},
		Unreachable:    postgres.Unreachable,
		LINE:           a.services.LINE,
		Metrics:        a.metrics,
		TrustedProxies: a.cfg.TrustedProxies,
		BaseURL:        a.baseURL,
		Mounts:         a.Mounts,

		Sessions: web.NewSessions(postgres.NewSessionStore(pool), a.baseURL, a.cfg.SessionIdle, a.cfg.SessionMax),
		Staff:    a.services.Staff,
		Schools:  a.services.Schools,
		Roster:   a.services.Roster,
		Channels: a.services.LINE,
		AuditLog: a.services.AuditLog,

		Registration: a.services.Registration,
		Absence:      a.services.Absence,
		ListRefresh:  a.cfg.ListRefresh,
		Inbox:        a.services.Inbox,
		Live:         a.liveHub,
		Announce:     a.services.Announce,
		Surveys:      a.services.Surveys,
		Retention:    a.services.Retention,
		Rollover:     a.services.Rollover,
		Reports:      a.services.Reports,
		Worklist:     a.services.Worklist,
		Notify:       a.services.Notify,
		NotifyHub:    a.notifyHub,
	}
	a.httpServer = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go a.serve(a.httpServer, a.listener)

	if a.cfg.MetricsAddr != "" {
		a.metricsLn, err = net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on RENRAKU_METRICS_ADDR %s: %w", a.cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.metrics.Handler())
		a.metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go a.serve(a.metricsServer, a.metricsLn)
	}
	a.log.Info("started", "addr", a.listener.Addr().String(), "schema_version", st.Current)
	return nil
}

func (a *App) serve(s *http.Server, l net.Listener) {
	if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.errc <- err
	}
}

// Handler is the app's router (for tests that walk its routes).
func (a *App) Handler() http.Handler { return a.httpServer.Handler }

// Err delivers a fatal server error, if one happens after Start.
func (a *App) Err() <-chan error { return a.errc }

// URL is the address the app listens on, as http://host:port.
func (a *App) URL() string { return "http://" + a.listener.Addr().String() }

// BaseURL is the public URL used in links (RENRAKU_BASE_URL, or URL when unset).
func (a *App) BaseURL() *url.URL { return a.baseURL }

// MetricsURL is the /metrics address, or "" when metrics are disabled.
func (a *App) MetricsURL() string {
	if a.metricsLn == nil {
		return ""
	}
	return "http://" + a.metricsLn.Addr().String() + "/metrics"
}

// Config is the app's configuration.
func (a *App) Config() *config.Config { return a.cfg }

// Services are the app's use cases (for tests and the dev mode's demo data).
func (a *App) Services() *Services { return a.services }

// Pool is the app's database pool.
func (a *App) Pool() *pgxpool.Pool { return a.pool }

// Close stops accepting requests, lets running ones finish within the configured
// shutdown timeout, and closes the database pool.
func (a *App) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if a.liveHub != nil {
		// Open pages' streams never end by themselves: end them, or Shutdown would wait
		// for them until the timeout.
		a.liveHub.Close()
	}
	if a.notifyHub != nil {
		a.notifyHub.Close()
	}
	if a.httpServer != nil {
		errs = append(errs, a.httpServer.Shutdown(ctx))
	}
	if a.metricsServer != nil {
		errs = append(errs, a.metricsServer.Shutdown(ctx))
	}
	if a.stopListen != nil {
		a.stopListen()
	}
	if a.services != nil {
		errs = append(errs, a.services.LINE.StopPump(ctx), jobs.Stop(ctx, a.services.Jobs))
	}
	if a.pool != nil {
		a.pool.Close()
	}
	return errors.Join(errs...)
}
