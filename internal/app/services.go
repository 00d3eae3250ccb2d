package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/files"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/report"
	"github.com/renraku/renraku/internal/retention"
	"github.com/renraku/renraku/internal/rollover"
	"github.com/renraku/renraku/internal/schema"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/worklist"
	assets "github.com/renraku/renraku/web"
)

// Services are renraku's use cases, wired to their stores. The server and the
// command-line tools build them the same way.
type Services struct {
	Pool *pgxpool.Pool
	// Tx runs the features' work in transactions.
	Tx       *postgres.Transactor
	Vault    *vault.Vault
	Audit    *audit.Log
	Catalog  *i18n.Catalog
	Jobs     *jobs.Client
	Schools  *school.Service
	Staff    *staff.Service
	Roster   *roster.Service
	AuditLog *audit.Viewer
	LINE     *line.Service
	// Links are the parents' personal links to their pages.
	Links *parentlink.Service
	// Registration is the parents' registration and the schools' approval queue.
	Registration *registration.Service
	// Absence is the parents' absence reports and the teachers' morning list.
	Absence *absence.Service
	// Inbox is 「連絡する」: parents' conversations with the staff on duty.
	Inbox *inbox.Service
	// Announce is announcements, handouts and safety alerts.
	Announce *announce.Service
	// Surveys is surveys and attendance checks answered in LINE (アンケート・出欠確認).
	Surveys *survey.Service
	// Retention applies the boards' retention periods and prints certificates.
	Retention *retention.Service
	// Reports are the monthly operations reports.
	Reports *report.Service
	// Rollover is the school year's turn (年度更新).
	Rollover *rollover.Service
	// Worklist is the work queue on the staff home pages.
	Worklist *worklist.Service
	// Notify is the staff's notifications (choices, Web Push, desktop signals).
	Notify *notify.Service
}

// auditChainDomain separates the audit chain's MAC from every other use of the PRF key.
const auditChainDomain = "audit.chain.v1"

// buildServices wires the services on an open pool. With workers, the job client runs
// jobs (the server); without, it only enqueues (command-line tools).
func buildServices(ctx context.Context, cfg *config.Config, log *slog.Logger, pool *pgxpool.Pool, runWorkers bool) (*Services, error) {
	v, err := OpenVault(ctx, cfg)
	if err != nil {
		return nil, err
	}
	catalog, err := i18n.Load(assets.Catalog)
	if err != nil {
		return nil, err
	}
	al := audit.New(func(data []byte) ([]byte, error) { return v.BlindIndex(auditChainDomain, string(data)) })
	al.Logger = log
	tx := postgres.NewTransactor(pool)
	s := &Services{Pool: pool, Tx: tx, Vault: v, Audit: al, Catalog: catalog}
	s.Schools = &school.Service{Tx: tx, Store: postgres.SchoolStore{}, Closed: postgres.SchoolStore{}, Audit: al}
	staffStore := &postgres.StaffStore{Vault: v}
	s.Staff = &staff.Service{Tx: tx, Store: staffStore, Audit: al, Key: v.BlindIndex, LinkTTL: cfg.SigninLinkTTL}
	s.Roster = &roster.Service{Tx: tx, Schools: s.Schools, Staff: s.Staff, Audit: al}
	auditNames := &postgres.AuditNames{Vault: v}
	s.AuditLog = &audit.Viewer{Tx: tx, Log: al, Staff: auditNames.Staff, Objects: auditNames.Objects,
		Schools: func(ctx context.Context) ([]audit.SchoolName, error) {
			schools, err := s.Schools.Schools(ctx)
			out := make([]audit.SchoolName, 0, len(schools))
			for _, sc := range schools {
				out = append(out, audit.SchoolName{ID: sc.ID, Name: sc.Name})
			}
			return out, err
		}}
	s.LINE = line.NewService(tx, &postgres.LineStore{Vault: v}, lineapi.NewClient(cfg.LineAPIURL, cfg.LineDataAPIURL), log, al,
		func(lang, id string) string { return catalog.Localizer(lang).T(id) })

	s.Links = &parentlink.Service{Tx: tx, Store: postgres.ParentLinkStore{}, Key: v.BlindIndex}
	if cfg.BaseURL != nil {
		s.Links.BaseURL = strings.TrimSuffix(cfg.BaseURL.String(), "/")
	}
	// Every change a feature publishes goes to the open staff pages (NOTIFY) and to the
	// notifications (a job), in the feature's transaction. The notification service is
	// filled in below, once the services it asks are built.
	s.Notify = new(notify.Service)
	pub := live.Fanout{postgres.LivePublisher{}, s.Notify}
	regStore := &postgres.RegistrationStore{Vault: v}
	s.Registration = &registration.Service{Tx: tx, Store: regStore, Live: pub, Throttle: regStore, Links: s.Links, Friends: s.LINE, Outbox: s.LINE,
		IDTokens: s.LINE.Client, Classes: s.Schools, Jobs: s.LINE.Jobs, Audit: al, Key: v.BlindIndex, FontPath: cfg.PDFFont,
		T: func(lang, id string, data map[string]any) string { return catalog.Localizer(lang).T(id, data) }}
	s.Registration.Register(s.LINE)
	s.Absence = &absence.Service{Tx: tx, Store: &postgres.AbsenceStore{Vault: v}, Live: pub, Guardians: s.Registration, Links: s.Links,
		Friends: s.LINE, Outbox: s.LINE, Schools: s.Schools, Audit: al, T: s.Registration.T}
	s.Absence.Register(s.LINE)
	s.Staff.Schools, s.Staff.Absences = s.Schools, s.Absence
	s.Inbox = &inbox.Service{Tx: tx, Store: &postgres.InboxStore{Vault: v}, Live: pub, Guardians: s.Registration, Friends: s.LINE, Outbox: s.LINE,
		Contents: s.LINE.Client, Jobs: s.LINE.Jobs, Audit: al, T: s.Registration.T, Names: inbox.NewNameIndex()}
	s.Inbox.Register(s.LINE)
	annStore := &postgres.AnnounceStore{Vault: v}
	var fileStore files.Store = &postgres.FileStore{Pool: pool, Vault: v}
	if cfg.FilesDir != "" {
		fileStore = files.Dir{Root: cfg.FilesDir, Vault: v}
	}
	s.Announce = &announce.Service{Tx: tx, Store: annStore, Live: pub, Scopes: annStore, Files: fileStore, Guardians: s.Registration,
		Links: s.Links, Channels: s.LINE, Outbox: s.LINE, Broadcaster: s.LINE.Client, Jobs: s.LINE.Jobs, Audit: al, T: s.Registration.T}
	s.Announce.Register(s.LINE)
	s.Schools.Handouts = s.Announce
	s.Surveys = &survey.Service{Tx: tx, Store: &postgres.SurveyStore{Vault: v}, Audiences: s.Announce, Files: fileStore,
		Guardians: s.Registration, Links: s.Links, Outbox: s.LINE, Channels: s.LINE, Quotas: s.LINE.Client, Jobs: s.LINE.Jobs,
		Live: pub, Audit: al, T: s.Registration.T}
	s.Surveys.Register(s.LINE)
	s.Announce.Surveys = s.Surveys
	s.Worklist = &worklist.Service{Schools: s.Schools, Registrations: s.Registration, Absences: s.Absence,
		Conversations: s.Inbox, Deliveries: s.Announce, Quotas: s.LINE}
	s.Staff.Work = s.Worklist
	s.Retention = &retention.Service{Tx: tx, Store: postgres.RetentionStore{}, Files: fileStore, Audit: al, Log: log, FontPath: cfg.PDFFont,
		T: s.Registration.T, EndFriends: func(ctx context.Context, ids []int64) (int, error) {
			return s.Registration.EndFriendsTx(ctx, ids, "reg.line.leave_year_end")
		}}

	*s.Notify = notify.Service{Tx: tx, Store: &postgres.NotifyStore{Vault: v}, Jobs: s.LINE.Jobs, Staff: s.Staff, Schools: s.Schools,
		Announcements: s.Announce, Audit: al, Log: log, T: s.Registration.T, Subscriber: pushSubscriber(cfg)}
	s.Staff.Devices = s.Notify

	workers := river.NewWorkers()
	s.Notify.Workers(workers)
	s.LINE.Workers(workers)
	s.Inbox.Workers(workers)
	s.Announce.Workers(workers)
	s.Surveys.Workers(workers)
	periodic := maintenance(workers, pool, v, al, log, cfg.AuditRetentionYears)
	periodic = append(periodic, s.Retention.Workers(workers)...)
	// Survey results (issue 19): the printed results' font and the automatic reminder.
	s.Surveys.FontPath = cfg.PDFFont
	periodic = append(periodic, s.Surveys.RemindWorkers(workers)...)
	s.Rollover = &rollover.Service{Tx: tx, Store: &postgres.RolloverStore{Vault: v}, Schools: s.Schools, Guardians: s.Registration,
		Links: s.Links, Friends: s.LINE, Outbox: s.LINE, Audit: al, T: s.Registration.T}
	periodic = append(periodic, s.Rollover.Workers(workers)...)
	s.Reports = &report.Service{Tx: tx, Store: postgres.ReportStore{}, Audit: al, FontPath: cfg.PDFFont, T: s.Registration.T,
		Quota: func(ctx context.Context, channelID int64) report.Limit {
			ch, err := s.LINE.FindChannel(ctx, channelID)
			if err != nil {
				return report.Limit{}
			}
			q, err := s.LINE.Client.Quota(ctx, ch.API())
			if err != nil {
				return report.Limit{}
			}
			return report.Limit{Known: true, Limited: q.Limited, Max: q.Limit}
		}}
	periodic = append(periodic, s.Reports.Workers(workers)...)
	s.Jobs, err = jobs.New(jobs.Config{Pool: pool, Log: log, Workers: workers, Periodic: periodic, InsertOnly: !runWorkers,
		RescueAfter: cfg.JobRescueAfter})
	if err != nil {
		return nil, err
	}
	s.LINE.Jobs.Client = s.Jobs
	return s, nil
}

// pushSubscriber is the contact push services see in the VAPID token: the public
// address when it is https, else a placeholder (a push service may refuse it).
func pushSubscriber(cfg *config.Config) string {
	if cfg.BaseURL != nil && cfg.BaseURL.Scheme == "https" {
		return cfg.BaseURL.String()
	}
	return "mailto:webpush@renraku.invalid"
}

// OpenVault opens the keyset named by the configuration, refusing to go on without
// a usable one.
func OpenVault(ctx context.Context, cfg *config.Config) (*vault.Vault, error) {
	if err := cfg.RequireKeys(); err != nil {
		return nil, err
	}
	var master vault.Master
	var err error
	if cfg.KMSKeyURI != "" {
		master, err = vault.MasterFromKMS(ctx, cfg.KMSKeyURI)
	} else {
		master, err = vault.MasterFromKey(cfg.MasterKey)
	}
	if err != nil {
		return nil, err
	}
	v, err := vault.Open(cfg.KeysetFile, master)
	if err != nil {
		return nil, fmt.Errorf("RENRAKU_KEYSET_FILE: %w", err)
	}
	return v, nil
}

// Tools are the services for one command-line invocation.
type Tools struct {
	*Services
	cfg *config.Config
}

// OpenTools connects to the database (whose schema must be current) and builds the
// services for a command-line tool.
func OpenTools(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Tools, error) {
	if cfg.DatabaseURL == "" {
		return nil, &config.Error{Var: "DATABASE_URL", Flag: "database-url", Reason: "required"}
	}
	pool, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	st, err := schema.StatusOf(ctx, pool)
	if err == nil {
		err = st.Err()
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	s, err := buildServices(ctx, cfg, log, pool, false)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Tools{Services: s, cfg: cfg}, nil
}

// BaseURL is the public URL links are built from.
func (t *Tools) BaseURL() string {
	if t.cfg.BaseURL != nil {
		return t.cfg.BaseURL.String()
	}
	return "http://" + t.cfg.Addr
}

// SchoolChannel returns the LINE channel of a school named or numbered ref.
func (t *Tools) SchoolChannel(ctx context.Context, ref string) (line.Channel, error) {
	sc, err := t.Schools.FindSchool(ctx, ref)
	if err != nil {
		return line.Channel{}, err
	}
	ch, err := t.LINE.FindSchoolChannel(ctx, sc.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return line.Channel{}, fmt.Errorf("school %s has no LINE channel: run `renraku admin set-channel` first", strings.TrimSpace(sc.Name))
	}
	return ch, err
}

// Close releases the pool.
func (t *Tools) Close() { t.Pool.Close() }
