package app

import (
	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/rollover"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/worklist"
)

// The features meet each other through the narrow ports they declare; these are the
// services (and the LINE client) that satisfy them, checked when the app compiles.
var (
	_ registration.Links    = (*parentlink.Service)(nil)
	_ registration.Friends  = (*line.Service)(nil)
	_ registration.Outbox   = (*line.Service)(nil)
	_ registration.IDTokens = (*lineapi.Client)(nil)
	_ registration.Classes  = (*school.Service)(nil)

	_ absence.Guardians = (*registration.Service)(nil)
	_ absence.Links     = (*parentlink.Service)(nil)
	_ absence.Friends   = (*line.Service)(nil)
	_ absence.Outbox    = (*line.Service)(nil)
	_ absence.Schools   = (*school.Service)(nil)

	_ inbox.Guardians = (*registration.Service)(nil)
	_ inbox.Friends   = (*line.Service)(nil)
	_ inbox.Outbox    = (*line.Service)(nil)
	_ inbox.Contents  = (*lineapi.Client)(nil)

	_ survey.Audiences = (*announce.Service)(nil)
	_ survey.Guardians = (*registration.Service)(nil)
	_ survey.Links     = (*parentlink.Service)(nil)
	_ survey.Outbox    = (*line.Service)(nil)
	_ survey.Channels  = (*line.Service)(nil)
	_ survey.Quotas    = (*lineapi.Client)(nil)

	_ announce.OpenSurveys = (*survey.Service)(nil)

	_ announce.Guardians   = (*registration.Service)(nil)
	_ announce.Links       = (*parentlink.Service)(nil)
	_ announce.Channels    = (*line.Service)(nil)
	_ announce.Outbox      = (*line.Service)(nil)
	_ announce.Broadcaster = (*lineapi.Client)(nil)

	_ school.HandoutLimits = (*announce.Service)(nil)

	_ staff.Schools  = (*school.Service)(nil)
	_ staff.Absences = (*absence.Service)(nil)
	_ staff.Work     = (*worklist.Service)(nil)

	_ worklist.Schools       = (*school.Service)(nil)
	_ worklist.Registrations = (*registration.Service)(nil)
	_ worklist.Absences      = (*absence.Service)(nil)
	_ worklist.Conversations = (*inbox.Service)(nil)
	_ worklist.Deliveries    = (*announce.Service)(nil)
	_ worklist.Quotas        = (*line.Service)(nil)
	_ staff.Devices          = (*notify.Service)(nil)

	_ notify.Staff         = (*staff.Service)(nil)
	_ notify.Schools       = (*school.Service)(nil)
	_ notify.Announcements = (*announce.Service)(nil)
	_ live.Publisher       = (*notify.Service)(nil)

	_ rollover.Schools   = (*school.Service)(nil)
	_ rollover.Guardians = (*registration.Service)(nil)
	_ rollover.Links     = (*parentlink.Service)(nil)
	_ rollover.Friends   = (*line.Service)(nil)
	_ rollover.Outbox    = (*line.Service)(nil)
)
