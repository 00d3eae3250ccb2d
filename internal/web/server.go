// Package web is renraku's HTTP layer: the chi router (every route in routes.go), the
// middleware every request passes (request ID, recovery, security headers, logging,
// metrics, language), and the handlers, which parse, call one service method and render.
package web

import (
	"context"
	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/report"
	"github.com/renraku/renraku/internal/retention"
	"github.com/renraku/renraku/internal/rollover"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/worklist"
)

// ReadyChecker answers whether the app can serve requests (database reachable, schema
// current).
type ReadyChecker interface {
	Ready(ctx context.Context) error
}

// Server holds what the handlers need. Build it in the app's wiring and call Handler.
type Server struct {
	Log     *slog.Logger
	Catalog *i18n.Catalog
	Ready   ReadyChecker
	// Unreachable reports whether an error means the database cannot be reached now
	// (postgres.Unreachable); such requests are answered 503, not 500.
	Unreachable func(error) bool
	Metrics     *Metrics
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// BaseURL is the public URL; when it is https, responses carry HSTS.
	BaseURL *url.URL
	// LINE stores the webhook requests LINE sends.
	LINE WebhookIngester
	// Sessions are the staff browser sessions.
	Sessions *scs.SessionManager
	// Staff, Schools, Roster, Channels and AuditLog are the services behind the staff
	// pages and the console.
	Staff    *staff.Service
	Schools  *school.Service
	Roster   *roster.Service
	Channels *line.Service
	AuditLog *audit.Viewer
	// Registration serves the parents' registration pages and the approval queue.
	Registration *registration.Service
	// Absence serves the parents' absence form and the teachers' morning list.
	Absence *absence.Service
	// Inbox serves the teachers' conversations with parents.
	Inbox *inbox.Service
	// Live tells open staff pages of the changes they show (/staff/live).
	Live *live.Hub
	// Announce serves announcements, handouts and safety alerts.
	Announce *announce.Service
	// Surveys serves surveys and attendance checks (アンケート・出欠確認).
	Surveys *survey.Service
	// Retention is the board's retention periods and deletion records.
	Retention *retention.Service
	// Reports are the monthly operations reports.
	Reports *report.Service
	// Rollover is the school year's turn (年度更新).
	Rollover *rollover.Service
	// Worklist is the work queue of the staff home pages.
	Worklist *worklist.Service
	// Notify is the staff's notification choices, Web Push subscriptions and desktop
	// notifications; NotifyHub hands the latter to open pages.
	Notify    *notify.Service
	NotifyHub *notify.Hub
	// ListRefresh is how often open lists fetch new rows (zero: 30 s).
	ListRefresh time.Duration
	// Mounts are extra handlers under fixed prefixes, such as the LINE simulator in dev
	// mode (never in serve).
	Mounts map[string]http.Handler
}
