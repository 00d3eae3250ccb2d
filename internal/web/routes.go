package web

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/parentlink"
	assets "github.com/renraku/renraku/web"
)

// Handler returns the router with every route of the app. All routes live in this one
// function, so the authorisation matrix test can compare its list with chi's.
func (s *Server) Handler() http.Handler {
	// A session that cannot be loaded or saved (the database is down) gets the same
	// translated error page as any other failure, not scs's plain-text 500.
	s.Sessions.ErrorFunc = s.fail
	r := chi.NewRouter()
	r.Use(requestID, s.recoverer, s.securityHeaders, s.observe, s.language, s.limitBodies(r))
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	// Probes and assets.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	static, _ := fs.Sub(assets.Static, "static")
	assetHandler := http.StripPrefix("/static/", staticHandler(static))
	r.Method(http.MethodGet, "/static/*", assetHandler)
	r.Method(http.MethodHead, "/static/*", assetHandler)
	// The service worker of the staff pages' notifications: public (it holds nothing),
	// served under /staff/ for its scope.
	r.Get("/staff/sw.js", s.serviceWorker)

	// Public pages.
	r.Get("/", s.landing)

	// LINE platform.
	r.Post("/line/webhook/{channelID}", s.lineWebhook)

	// Parents' pages, opened from links sent in LINE.
	r.Group(func(r chi.Router) {
		r.Use(s.parentOnly)
		r.Get("/p/register/{token}", s.registrationPage(parentlink.PurposeRegister))
		r.Post("/p/register/{token}", s.registrationSubmit(parentlink.PurposeRegister))
		r.Get("/p/update/{token}", s.registrationPage(parentlink.PurposeUpdate))
		r.Post("/p/update/{token}", s.registrationSubmit(parentlink.PurposeUpdate))
		r.Post("/p/update/{token}/withdraw", s.withdraw)
		r.Get("/p/absence/{token}", s.absencePage)
		r.Post("/p/absence/{token}", s.absenceSubmit)
		r.Post("/p/absence/{token}/cancel/{reportID}", s.absenceCancel)
		r.Get("/p/rollover/{token}", s.rolloverParentPage)
		r.Post("/p/rollover/{token}", s.rolloverParentSubmit)
		r.Get("/p/handouts/{token}", s.parentHandouts)
		r.Get("/p/handouts/{token}/a/{announcementID}", s.parentAnnouncement)
		r.Get("/p/handouts/{token}/a/{announcementID}/files/{handoutID}", s.parentHandoutFile)
		r.Get("/p/survey/{token}", s.surveyParentList)
		r.Get("/p/survey/{token}/s/{surveyID}", s.surveyParentPage)
		r.Post("/p/survey/{token}/s/{surveyID}", s.surveyParentSubmit)
		r.Get("/p/survey/{token}/s/{surveyID}/files/{handoutID}", s.surveyParentHandout)
		r.Get("/p/liff/{channelID}/{page}", s.liffEntry)
		r.Post("/p/liff/{channelID}/{page}", s.liffOpen)
		r.Post("/p/register/{token}/liff", s.verifyLIFF(parentlink.PurposeRegister))
		r.Post("/p/update/{token}/liff", s.verifyLIFF(parentlink.PurposeUpdate))
		r.Post("/p/rollover/{token}/liff", s.verifyLIFF(parentlink.PurposeRollover))
	})

	// Staff pages and the console: a session, CSRF protection and the signed-in
	// person on every request. Services decide what each person may do (authz).
	r.Group(func(r chi.Router) {
		r.Use(s.Sessions.LoadAndSave, sessionLoaded, s.csrf, s.loadActor)

		// Signing in.
		r.Get("/staff/login", s.signInPage)
		r.Post("/staff/login", s.signIn)
		r.Get("/staff/login/code", s.codePage)
		r.Post("/staff/login/code", s.code)
		r.Get("/staff/totp", s.enrolPage)
		r.Post("/staff/totp", s.enrol)
		r.Get("/staff/welcome/{token}", s.welcomePage)
		r.Post("/staff/welcome/{token}", s.welcome)
		r.Post("/staff/logout", s.signOut)

		r.Group(func(r chi.Router) {
			r.Use(s.requireSignIn)

			// Teachers' pages.
			r.Get("/staff/", s.staffHome)
			r.Get("/staff/work", s.staffWork)
			r.Get("/staff/classes/{classID}", s.classPage)
			r.Post("/staff/children/{childID}/transfer", s.transferOut)
			r.Post("/staff/children/{childID}/class", s.moveChild)
			r.Get("/staff/absences", s.absenceListPage)
			r.Get("/staff/absences/rows", s.absenceRows)
			r.Post("/staff/absences/acknowledge", s.absenceAcknowledge)
			r.Get("/staff/absences/export", s.absenceExport)
			r.Get("/staff/absences/stats", s.absenceStats)
			r.Get("/staff/absences/club", s.clubAbsences)
			r.Get("/staff/announcements", s.announcementsPage)
			r.Get("/staff/announcements/new", s.composePage)
			r.Post("/staff/announcements", s.createAnnouncement)
			r.Get("/staff/announcements/{announcementID}", s.announcementPage)
			r.Get("/staff/announcements/{announcementID}/edit", s.editAnnouncementPage)
			r.Post("/staff/announcements/{announcementID}/edit", s.updateAnnouncement)
			r.Post("/staff/announcements/{announcementID}/send", s.sendAnnouncement)
			r.Post("/staff/announcements/{announcementID}/cancel", s.cancelAnnouncement)
			r.Post("/staff/announcements/{announcementID}/retry", s.retryAnnouncement)
			r.Get("/staff/announcements/{announcementID}/recipients", s.announcementRecipients)
			r.Get("/staff/announcements/{announcementID}/handouts/{handoutID}", s.staffHandout)
			// Surveys before answers come in (issue 19; the results page
			// /staff/surveys/{surveyID} is beside them).
			r.Get("/staff/surveys", s.surveysPage)
			r.Get("/staff/surveys/new", s.newSurveyPage)
			r.Post("/staff/surveys", s.createSurvey)
			r.Get("/staff/surveys/{surveyID}/preview", s.surveyPreviewPage)
			r.Get("/staff/surveys/{surveyID}/edit", s.editSurveyPage)
			r.Post("/staff/surveys/{surveyID}/edit", s.updateSurvey)
			r.Post("/staff/surveys/{surveyID}/send", s.sendSurvey)
			r.Post("/staff/surveys/{surveyID}/cancel", s.cancelSurvey)
			r.Get("/staff/surveys/{surveyID}/handouts/{fileID}", s.surveyHandout)
			// Survey results (issue 19).
			r.Get("/staff/surveys/{surveyID}", s.surveyResultsPage)
			r.Get("/staff/surveys/{surveyID}/units", s.surveyResultsFragment)
			r.Post("/staff/surveys/{surveyID}/remind", s.surveyRemind)
			r.Get("/staff/surveys/{surveyID}/export.csv", s.surveyExport)
			r.Get("/staff/surveys/{surveyID}/print.pdf", s.surveyPrint)
			r.Get("/staff/inbox", s.inboxPage)
			r.Post("/staff/inbox", s.inboxPage)
			r.Get("/staff/inbox/events", s.liveEvents)
			r.Get("/staff/live", s.liveEvents)
			r.Get("/staff/inbox/{conversationID}", s.threadPage)
			r.Get("/staff/inbox/{conversationID}/images/{messageID}", s.inboxImage)
			r.Get("/staff/inbox/{conversationID}/messages", s.threadNews)
			r.Post("/staff/inbox/{conversationID}/reply", s.reply)
			r.Post("/staff/inbox/{conversationID}/state", s.conversationState)
			r.Post("/staff/inbox/{conversationID}/note", s.note)
			r.Post("/staff/inbox/{conversationID}/messages/{messageID}/retry", s.retryReply)
			r.Post("/staff/inbox/{conversationID}/handover", s.handOver)
			r.Get("/staff/canned", s.cannedPage)
			r.Post("/staff/canned", s.addCanned)
			r.Post("/staff/canned/{cannedID}/delete", s.deleteCanned)
			r.Get("/staff/approvals", s.approvalsPage)
			r.Post("/staff/approvals/{guardianshipID}/approve", s.decide(true))
			r.Post("/staff/approvals/{guardianshipID}/reject", s.decide(false))
			r.Get("/staff/account", s.accountPage)
			r.Post("/staff/account/password", s.changePassword)
			r.Post("/staff/account/signout-all", s.signOutEverywhere)
			r.Post("/staff/account/notifications", s.saveNotifications)
			r.Post("/staff/account/notifications/subscribe", s.subscribe)
			r.Post("/staff/account/notifications/unsubscribe", s.unsubscribe)
			r.Get("/staff/notifications/events", s.notifyEvents)

			// The console.
			r.Get("/admin/", s.adminHome)
			r.Post("/admin/schools", s.createSchool)
			r.Post("/admin/board/settings", s.saveBoardSettings)
			r.Get("/admin/reports", s.reportPage)
			r.Get("/admin/reports/export", s.reportExport)
			r.Get("/admin/board/retention", s.retentionPage)
			r.Post("/admin/board/retention", s.saveRetention)
			r.Post("/admin/board/retention/run", s.runRetention)
			r.Get("/admin/board/retention/certificate", s.retentionCertificate)
			r.Get("/admin/board/staff", s.boardStaffPage)
			r.Post("/admin/board/staff", s.createBoardStaff)
			r.Get("/admin/audit", s.auditPage)
			r.Get("/admin/audit/export", s.auditExport)
			r.Get("/admin/schools/{schoolID}", s.schoolSettingsPage)
			r.Post("/admin/schools/{schoolID}/settings", s.inSchool(s.saveSchoolSettings))
			r.Get("/admin/schools/{schoolID}/closed-days", s.closedDaysPage)
			r.Post("/admin/schools/{schoolID}/closed-days", s.addClosedDay)
			r.Post("/admin/schools/{schoolID}/closed-days/{day}/delete", s.removeClosedDay)
			r.Get("/admin/schools/{schoolID}/structure", s.structurePage)
			r.Post("/admin/schools/{schoolID}/classes", s.createClass)
			r.Post("/admin/classes/{classID}/enrolment", s.saveEnrolment)
			r.Post("/admin/classes/{classID}/delete", s.deleteClass)
			r.Post("/admin/schools/{schoolID}/clubs", s.createClub)
			r.Post("/admin/clubs/{clubID}/delete", s.deleteClub)
			r.Get("/admin/schools/{schoolID}/staff", s.inSchool(s.schoolStaffPage))
			r.Post("/admin/schools/{schoolID}/staff", s.inSchool(s.createSchoolStaff))
			r.Get("/admin/staff/{staffID}", s.staffDetailPage)
			r.Post("/admin/staff/{staffID}/assignments", s.assign)
			r.Post("/admin/assignments/{assignmentID}/delete", s.unassign)
			r.Post("/admin/staff/{staffID}/disable", s.setDisabled(true))
			r.Post("/admin/staff/{staffID}/enable", s.setDisabled(false))
			r.Post("/admin/staff/{staffID}/link", s.newLink)
			r.Get("/admin/schools/{schoolID}/codes", s.inSchool(s.codesPage))
			r.Get("/admin/schools/{schoolID}/codes/sheets", s.inSchool(s.codeSheets))
			r.Post("/admin/classes/{classID}/code", s.newCode)
			r.Get("/admin/schools/{schoolID}/channel", s.inSchool(s.channelPage))
			r.Post("/admin/schools/{schoolID}/channel", s.inSchool(s.saveChannel))
			r.Post("/admin/schools/{schoolID}/channel/test", s.inSchool(s.testChannel))
			r.Get("/admin/schools/{schoolID}/roster", s.rosterPage)
			r.Post("/admin/schools/{schoolID}/roster/import", s.rosterImport)
			r.Get("/admin/schools/{schoolID}/roster/export", s.rosterExport)
			r.Get("/admin/schools/{schoolID}/roster/template", s.rosterTemplate)
			r.Get("/admin/schools/{schoolID}/rollover", s.rolloverPage)
			r.Post("/admin/schools/{schoolID}/rollover/copy", s.rolloverAction(s.rolloverCopy, "rollover.copied"))
			r.Post("/admin/schools/{schoolID}/rollover/plan", s.rolloverPlan)
			r.Post("/admin/schools/{schoolID}/rollover/ask", s.rolloverAction(s.rolloverAsk, "rollover.asked"))
			r.Post("/admin/schools/{schoolID}/rollover/switch", s.rolloverAction(s.rolloverSwitch, "rollover.switched_done"))
			r.Get("/admin/schools/{schoolID}/audit", s.inSchool(s.schoolAuditPage))
			r.Get("/admin/schools/{schoolID}/audit/export", s.schoolAuditExport)
		})
		r.Get("/staff", redirectTo("/staff/"))
		r.Get("/admin", redirectTo("/admin/"))
	})

	for prefix, h := range s.Mounts {
		r.Mount(prefix, h)
	}
	return r
}

func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, path, http.StatusMovedPermanently) }
}
