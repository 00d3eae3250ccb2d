package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/pgembed"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/web/view"
)

// devAppLogin is the dev mode's login role for the app, a member of renraku_app.
const devAppLogin = "renraku_dev_app"

// runDev runs everything on one machine: a project-local PostgreSQL (kept in
// RENRAKU_DATA_DIR between runs) unless DATABASE_URL is set, keys kept in the same
// folder, migrations, the LINE simulator, demo data and the app; then prints what to
// open.
func runDev(ctx context.Context, env *Env, args []string) error {
	cfg, _, err := loadConfig(env, "dev", args, nil)
	if err != nil {
		return err
	}
	log := newLogger(env, cfg)

	// The local PostgreSQL's superuser owns the schema and migrates; the app runs as
	// a login role in renraku_app, as in production, so the dev mode meets the same
	// limits on the audit log.
	local := cfg.DatabaseURL == ""
	if local {
		fmt.Fprintln(env.Stderr, "dev: starting the local PostgreSQL in", filepath.Join(cfg.DataDir, "postgres"))
		cl, err := pgembed.Start(ctx, pgembed.Options{Dir: filepath.Join(cfg.DataDir, "postgres")})
		if err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		defer cl.Stop()
		cfg.DatabaseURL, cfg.OwnerDatabaseURL = cl.URL, cl.URL
	}
	if err := devKeys(cfg); err != nil {
		return err
	}

	m, err := schema.NewMigrator(cfg.MigrationURL())
	if err != nil {
		return err
	}
	upErr := m.Up()
	m.Close()
	if upErr != nil {
		return fmt.Errorf("dev: %w", upErr)
	}
	switch {
	case local:
		// Trust authentication on a private socket: no password.
		if cfg.DatabaseURL, err = schema.EnsureAppLogin(ctx, cfg.OwnerDatabaseURL, devAppLogin, ""); err != nil {
			return fmt.Errorf("dev: %w", err)
		}
	case cfg.OwnerDatabaseURL == "":
		// A database of the developer's own, one role for everything: say so, go on.
		cfg.AllowOwnerRole = true
	}

	// The LINE simulator answers on this same server; renraku talks to it as to LINE.
	base := "http://" + cfg.Addr
	simURL, _ := url.Parse(base + "/_sim/line")
	cfg.LineAPIURL, cfg.LineDataAPIURL = simURL, simURL
	sim := linesim.New(linesim.Options{HTMXPath: view.HTMXPath, AllowHTTPURLs: true})

	a := app.New(cfg, log)
	// Ready only once the demo is seeded and the printed URLs work.
	a.HoldReady()
	a.Mounts = map[string]http.Handler{
		"/_sim/line":  http.StripPrefix("/_sim/line", sim.Handler()),
		"/_sim/phone": sim.PhoneHandler("/_sim/phone"),
		"/_dev/totp":  devTOTP,
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("dev: %w", err)
	}
	ch, err := demo.Seed(ctx, a.Services(), sim, strings.TrimSuffix(a.BaseURL().String(), "/"))
	if err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("dev: %w", err)
	}
	logins, err := demo.SeedStaff(ctx, a.Services())
	if err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("dev: %w", err)
	}
	devTOTP.set(logins)
	// Web Push works in dev as it would in production: the key pair is made once and
	// kept (encrypted) in the dev database.
	if _, _, err := a.Services().Notify.GenerateVAPID(ctx, false); err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("dev: %w", err)
	}
	a.ReleaseReady()
	printBanner(env, a, ch.LineChannelID, logins)
	return waitAndClose(ctx, a)
}

// devKeys creates (once) and uses a master key and keyset in the data folder, so a
// newcomer never handles keys. Production keys are made with `renraku keys generate`.
func devKeys(cfg *config.Config) error {
	if cfg.KeysetFile != "" {
		return nil
	}
	dir := filepath.Join(cfg.DataDir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	keyPath, setPath := filepath.Join(dir, "master.key"), filepath.Join(dir, "keyset.json")
	if cfg.MasterKey == nil {
		b, err := os.ReadFile(keyPath)
		if os.IsNotExist(err) {
			k := make([]byte, 32)
			_, _ = rand.Read(k)
			b = []byte(base64.StdEncoding.EncodeToString(k))
			if err := os.WriteFile(keyPath, b, 0o600); err != nil {
				return fmt.Errorf("dev: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		if cfg.MasterKey, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("dev: %s is not base64", keyPath)
		}
	}
	if _, err := os.Stat(setPath); os.IsNotExist(err) {
		m, err := vault.MasterFromKey(cfg.MasterKey)
		if err != nil {
			return err
		}
		if err := vault.Generate(setPath, m); err != nil {
			return err
		}
	}
	cfg.KeysetFile = setPath
	return nil
}

func printBanner(env *Env, a *app.App, channelID string, logins []demo.Login) {
	base := a.BaseURL().String()
	fmt.Fprintf(env.Stdout, `
renraku dev is running. Press Ctrl-C to stop (the local database keeps its data).

  Start page        %s/
  Parent's phone    %s/_sim/phone/   (LINE simulator: add the school as a friend, tap the menu)
  Health            %s/healthz   %s/readyz
  Metrics           %s
  Demo board        %s (%d schools, LINE channel %s)

`, base, base, base, base, a.MetricsURL(), demo.BoardName, len(demo.Schools), channelID)
	fmt.Fprintf(env.Stdout, "  Staff sign-in     %s/staff/login   (every demo account's password: %s)\n", base, demo.Password)
	fmt.Fprintf(env.Stdout, "  Second factor     %s/_dev/totp     (current codes of the demo administrators)\n\n", base)
	for _, l := range logins {
		fmt.Fprintf(env.Stdout, "    %-18s %-13s %s %s\n", l.Login, l.Role, l.School, l.Duties)
	}
	fmt.Fprintln(env.Stdout)
}
