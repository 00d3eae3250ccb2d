package web

import (
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/school"
)

// dateTime writes a moment as people read it in the page's language, in Japan's time:
// 2026年12月6日（土）08:05.
func dateTime(loc *i18n.Localizer, t time.Time) string {
	t = t.In(school.Tokyo)
	return loc.T("datetime.full", map[string]any{"Year": t.Year(), "Month": int(t.Month()), "Day": t.Day(),
		"Weekday": loc.T("weekday." + strconv.Itoa(int(t.Weekday()))), "Time": t.Format("15:04")})
}
