package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/postgres/pgtx"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
)

// persona is one column of the authorisation matrix.
type persona string

const (
	anon     persona = "anonymous"
	board    persona = "board admin"
	adminA   persona = "school admin A"
	adminB   persona = "school admin B"
	homeroom persona = "homeroom 1年1組 A"
	advisor  persona = "advisor A"
	teacherA persona = "teacher A, no duty"
	teacherB persona = "teacher B"
	disabled persona = "disabled account"
)

// personas in the order they run: those refused first, so that an allowed request that
// changes something (a deletion) never hides a refusal.
var personas = []persona{anon, disabled, teacherB, adminB, teacherA, advisor, homeroom, adminA, board}

// The common columns.
func everyone(o apptest.Outcome) map[persona]apptest.Outcome {
	m := map[persona]apptest.Outcome{}
	for _, p := range personas {
		m[p] = o
	}
	return m
}

func signedInOnly() map[persona]apptest.Outcome {
	m := everyone(apptest.OK)
	m[anon], m[disabled] = apptest.Login, apptest.Login
	return m
}

// schoolAdminOnly is a console page of school A: its administrators and the board's.
func schoolAdminOnly() map[persona]apptest.Outcome {
	return map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.NotFound,
		homeroom: apptest.Forbidden, advisor: apptest.Forbidden, teacherA: apptest.Forbidden, teacherB: apptest.NotFound}
}

// absenceLists is the morning list with no class chosen: each person's first class
// (administrators: their school's; teachers: their homeroom class). Without one there
// is nothing to show.
func absenceLists() map[persona]apptest.Outcome {
	return map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.NotFound, adminA: apptest.OK, adminB: apptest.OK,
		homeroom: apptest.OK, advisor: apptest.NotFound, teacherA: apptest.NotFound, teacherB: apptest.NotFound}
}

// classA11Decide is deciding a registration in 1年1組 of school A: its homeroom teacher
// and the administrators.
func classA11Decide() map[persona]apptest.Outcome {
	return map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.NotFound,
		homeroom: apptest.OK, advisor: apptest.Forbidden, teacherA: apptest.Forbidden, teacherB: apptest.NotFound}
}

// composers may write an announcement: administrators, and teachers with a class or
// club.
func composers() map[persona]apptest.Outcome {
	return map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.OK,
		homeroom: apptest.OK, advisor: apptest.OK, teacherA: apptest.Forbidden, teacherB: apptest.Forbidden}
}

// cannedDelete is deleting school A's 定型文: its administrators (board administrators
// have no school's templates).
func cannedDelete() map[persona]apptest.Outcome {
	m := schoolAdminOnly()
	m[board] = apptest.NotFound
	return m
}

func signedInButBoard() map[persona]apptest.Outcome {
	m := signedInOnly()
	m[board] = apptest.Forbidden
	return m
}

func adminsOnly() map[persona]apptest.Outcome {
	return map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.OK,
		homeroom: apptest.Forbidden, advisor: apptest.Forbidden, teacherA: apptest.Forbidden, teacherB: apptest.Forbidden}
}

func boardOnly() map[persona]apptest.Outcome {
	return map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.Forbidden, adminB: apptest.Forbidden,
		homeroom: apptest.Forbidden, advisor: apptest.Forbidden, teacherA: apptest.Forbidden, teacherB: apptest.Forbidden}
}

// surveyA11 is a survey sent to 1年1組 of school A: those who may address the class
// (its homeroom teacher, the administrators) see it; to anyone else it does not exist.
func surveyA11() map[persona]apptest.Outcome {
	return map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.NotFound,
		homeroom: apptest.OK, advisor: apptest.NotFound, teacherA: apptest.NotFound, teacherB: apptest.NotFound}
}

// matrixRow is one route: its expected outcome per persona, the form it posts, and
// whether each allowed request needs fresh objects (because it deletes its target).
type matrixRow struct {
	want  map[persona]apptest.Outcome
	form  func(ids map[string]string) url.Values
	query func(ids map[string]string) string
	fresh bool
	// stream: the answer never ends (server-sent events); only its status counts.
	stream bool
}

// matrix is the authorisation matrix. Every route of the router must have a row.
func matrix() map[string]matrixRow {
	classA11 := map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.NotFound,
		homeroom: apptest.OK, advisor: apptest.NotFound, teacherA: apptest.NotFound, teacherB: apptest.NotFound}
	return map[string]matrixRow{
		"GET /healthz":                              {want: everyone(apptest.Public)},
		"GET /readyz":                               {want: everyone(apptest.Public)},
		"GET /static/*":                             {want: everyone(apptest.Public)},
		"HEAD /static/*":                            {want: everyone(apptest.Public)},
		"GET /":                                     {want: everyone(apptest.Public)},
		"POST /line/webhook/{channelID}":            {want: everyone(apptest.Public)},
		"GET /staff/login":                          {want: everyone(apptest.Public)},
		"POST /staff/login":                         {want: everyone(apptest.Public)},
		"GET /staff/login/code":                     {want: everyone(apptest.Public)},
		"POST /staff/login/code":                    {want: everyone(apptest.Public)},
		"GET /staff/totp":                           {want: everyone(apptest.Public)},
		"POST /staff/totp":                          {want: everyone(apptest.Public)},
		"GET /staff/welcome/{token}":                {want: everyone(apptest.Public)},
		"POST /staff/welcome/{token}":               {want: everyone(apptest.Public)},
		"POST /staff/logout":                        {want: everyone(apptest.Public)},
		"GET /staff":                                {want: everyone(apptest.Public)},
		"GET /admin":                                {want: everyone(apptest.Public)},
		"GET /staff/":                               {want: signedInOnly()},
		"GET /staff/work":                           {want: signedInOnly()},
		"GET /staff/classes/{classID}":              {want: classA11},
		"GET /p/register/{token}":                   {want: everyone(apptest.Public)},
		"POST /p/register/{token}":                  {want: everyone(apptest.Public)},
		"GET /p/update/{token}":                     {want: everyone(apptest.Public)},
		"POST /p/update/{token}":                    {want: everyone(apptest.Public)},
		"POST /p/update/{token}/withdraw":           {want: everyone(apptest.Public)},
		"POST /p/register/{token}/liff":             {want: everyone(apptest.Public)},
		"GET /p/liff/{channelID}/{page}":            {want: everyone(apptest.Public)},
		"POST /p/liff/{channelID}/{page}":           {want: everyone(apptest.Public)},
		"POST /p/update/{token}/liff":               {want: everyone(apptest.Public)},
		"GET /p/absence/{token}":                    {want: everyone(apptest.Public)},
		"GET /p/rollover/{token}":                   {want: everyone(apptest.Public)},
		"POST /p/rollover/{token}":                  {want: everyone(apptest.Public)},
		"POST /p/rollover/{token}/liff":             {want: everyone(apptest.Public)},
		"POST /p/absence/{token}":                   {want: everyone(apptest.Public)},
		"POST /p/absence/{token}/cancel/{reportID}": {want: everyone(apptest.Public)},
		"GET /staff/absences":                       {want: absenceLists()},
		"GET /staff/absences/rows":                  {want: absenceLists()},
		"POST /staff/absences/acknowledge": {want: classA11Decide(), form: func(ids map[string]string) url.Values {
			return url.Values{"class": {ids["classA11"]}, "date": {ids["today"]}}
		}},
		"GET /staff/absences/export": {want: classA11Decide(), query: func(ids map[string]string) string { return "?class=" + ids["classA11"] + "&date=" + ids["today"] }},
		"GET /staff/absences/stats":  {want: adminsOnly()},
		// Advisors see their club; school administrators choose among their school's
		// clubs (school B's administrator sees only school B's).
		"GET /staff/absences/club": {want: map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.NotFound, adminA: apptest.OK, adminB: apptest.OK,
			homeroom: apptest.NotFound, advisor: apptest.OK, teacherA: apptest.NotFound, teacherB: apptest.NotFound}},
		"GET /p/handouts/{token}":                                      {want: everyone(apptest.Public)},
		"GET /p/handouts/{token}/a/{announcementID}":                   {want: everyone(apptest.Public)},
		"GET /p/handouts/{token}/a/{announcementID}/files/{handoutID}": {want: everyone(apptest.Public)},
		"GET /p/survey/{token}":                                        {want: everyone(apptest.Public)},
		"GET /p/survey/{token}/s/{surveyID}":                           {want: everyone(apptest.Public)},
		"POST /p/survey/{token}/s/{surveyID}":                          {want: everyone(apptest.Public)},
		"GET /p/survey/{token}/s/{surveyID}/files/{handoutID}":         {want: everyone(apptest.Public)},
		"GET /staff/announcements":                                     {want: signedInOnly()},
		"GET /staff/announcements/new":                                 {want: composers()},
		"POST /staff/announcements": {want: classA11Decide(), form: func(ids map[string]string) url.Values {
			return url.Values{"kind": {"notice"}, "class": {ids["classA11"]}, "title": {"お知らせ"}, "body": {"明日は午前授業です。"}}
		}},
		"GET /staff/announcements/{announcementID}":      {want: classA11Decide()},
		"GET /staff/announcements/{announcementID}/edit": {want: classA11Decide()},
		"POST /staff/announcements/{announcementID}/edit": {want: classA11Decide(), form: func(ids map[string]string) url.Values {
			return url.Values{"class": {ids["classA11"]}, "title": {"お知らせ（訂正）"}, "body": {"明日は午前授業です。"}}
		}},
		"POST /staff/announcements/{announcementID}/send":                {want: classA11Decide(), fresh: true},
		"POST /staff/announcements/{announcementID}/cancel":              {want: classA11Decide(), fresh: true},
		"POST /staff/announcements/{announcementID}/retry":               {want: classA11Decide()},
		"GET /staff/announcements/{announcementID}/recipients":           {want: classA11Decide()},
		"GET /staff/announcements/{announcementID}/handouts/{handoutID}": {want: classA11Decide()},
		// Survey results (issue 19): a survey sent to 1年1組 of school A by its administrator.
		"GET /staff/surveys/{surveyID}":                   {want: surveyA11()},
		"GET /staff/surveys/{surveyID}/units":             {want: surveyA11()},
		"GET /staff/surveys/{surveyID}/handouts/{fileID}": {want: surveyA11()},
		"POST /staff/surveys/{surveyID}/remind":           {want: surveyA11()},
		"GET /staff/surveys/{surveyID}/export.csv":        {want: surveyA11()},
		"GET /staff/surveys/{surveyID}/print.pdf":         {want: surveyA11()},
		// Surveys before answers come in (issue 19): as announcements.
		"GET /staff/surveys":     {want: signedInOnly()},
		"GET /staff/surveys/new": {want: composers()},
		"POST /staff/surveys": {want: classA11Decide(), form: func(ids map[string]string) url.Values {
			return url.Values{"kind": {"attendance"}, "class": {ids["classA11"]}, "title": {"授業参観"}, "deadline_date": {ids["surveyDeadline"]}, "deadline_time": {"17:00"}}
		}},
		"GET /staff/surveys/{surveyID}/preview": {want: classA11, fresh: true},
		"GET /staff/surveys/{surveyID}/edit":    {want: classA11, fresh: true},
		"POST /staff/surveys/{surveyID}/edit": {want: classA11, fresh: true, form: func(ids map[string]string) url.Values {
			return url.Values{"kind": {"attendance"}, "class": {ids["classA11"]}, "title": {"授業参観（訂正）"}, "deadline_date": {ids["surveyDeadline"]}, "deadline_time": {"17:00"}}
		}},
		"POST /staff/surveys/{surveyID}/send":                  {want: classA11, fresh: true},
		"POST /staff/surveys/{surveyID}/cancel":                {want: classA11, fresh: true},
		"GET /staff/inbox":                                     {want: signedInOnly()},
		"GET /staff/inbox/events":                              {want: signedInOnly(), stream: true},
		"GET /staff/live":                                      {want: signedInOnly(), stream: true},
		"POST /staff/inbox":                                    {want: signedInOnly(), form: func(map[string]string) url.Values { return url.Values{"q": {"木村"}, "state": {"open"}} }},
		"GET /staff/inbox/{conversationID}/images/{messageID}": {want: classA11Decide()},
		"POST /staff/inbox/{conversationID}/note":              {want: classA11Decide(), form: func(map[string]string) url.Values { return url.Values{"note": {"電話で確認済み"}} }},
		"POST /staff/inbox/{conversationID}/handover": {want: classA11Decide(), form: func(ids map[string]string) url.Values {
			return url.Values{"assignee": {ids["homeroomStaff"]}}
		}},
		"GET /staff/canned": {want: signedInOnly()},
		"POST /staff/canned": {want: signedInButBoard(), form: func(map[string]string) url.Values {
			return url.Values{"title": {"お礼"}, "body": {"ご連絡ありがとうございます。"}}
		}},
		"POST /staff/canned/{cannedID}/delete": {want: cannedDelete(), fresh: true},
		// The fixture's message is the parent's image, not a reply: those allowed get 404
		// after the authorisation check, the others are refused before it.
		"POST /staff/inbox/{conversationID}/messages/{messageID}/retry": {want: map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login,
			board: apptest.NotFound, adminA: apptest.NotFound, adminB: apptest.NotFound, homeroom: apptest.NotFound, advisor: apptest.Forbidden, teacherA: apptest.Forbidden, teacherB: apptest.NotFound}},
		"GET /staff/inbox/{conversationID}":          {want: classA11Decide()},
		"GET /staff/inbox/{conversationID}/messages": {want: classA11Decide()},
		"POST /staff/inbox/{conversationID}/reply": {want: classA11Decide(), form: func(map[string]string) url.Values {
			return url.Values{"body": {"お知らせありがとうございます"}}
		}},
		"POST /staff/inbox/{conversationID}/state":       {want: classA11Decide()},
		"GET /staff/approvals":                           {want: signedInOnly()},
		"POST /staff/approvals/{guardianshipID}/approve": {want: classA11Decide(), fresh: true},
		"POST /staff/approvals/{guardianshipID}/reject":  {want: classA11Decide(), fresh: true},
		"GET /admin/schools/{schoolID}/codes":            {want: schoolAdminOnly()},
		"GET /admin/schools/{schoolID}/codes/sheets":     {want: schoolAdminOnly()},
		"POST /admin/classes/{classID}/code":             {want: schoolAdminOnly()},
		"GET /staff/account":                             {want: signedInOnly()},
		"POST /staff/account/password":                   {want: signedInOnly(), form: func(map[string]string) url.Values { return url.Values{"current": {"wrong"}} }},
		"POST /staff/account/signout-all":                {want: signedInOnly()},
		// Notifications: one's own choices and browsers, and one's own stream.
		"POST /staff/account/notifications": {want: signedInOnly(), form: func(map[string]string) url.Values {
			return url.Values{"kind.message": {"on"}, "hours": {"office"}}
		}},
		"POST /staff/account/notifications/subscribe":   {want: signedInOnly()},
		"POST /staff/account/notifications/unsubscribe": {want: signedInOnly()},
		"GET /staff/notifications/events":               {want: signedInOnly(), stream: true},
		// The service worker holds nothing: public.
		"GET /staff/sw.js": {want: everyone(apptest.Public)},
		"GET /admin/":      {want: adminsOnly()},
		"POST /admin/schools": {want: boardOnly(), form: func(map[string]string) url.Values {
			return url.Values{"name": {"matrix school " + randomName()}, "type": {"elementary"}}
		}},
		"POST /admin/board/settings": {want: boardOnly(), form: func(map[string]string) url.Values { return url.Values{"handout_mb": {"10"}} }},
		"GET /admin/reports":         {want: adminsOnly()},
		"GET /admin/reports/export":  {want: adminsOnly(), query: func(map[string]string) string { return "?format=csv" }},
		"GET /admin/board/retention": {want: boardOnly()},
		"POST /admin/board/retention": {want: boardOnly(), form: func(map[string]string) url.Values {
			return url.Values{"message_days": {"730"}, "absence_days": {"730"}, "announcement_days": {"730"}, "survey_days": {"365"}}
		}},
		"POST /admin/board/retention/run": {want: boardOnly()},
		"GET /admin/board/retention/certificate": {want: boardOnly(), query: func(ids map[string]string) string {
			return "?from=" + ids["today"] + "&to=" + ids["today"]
		}},
		"GET /admin/board/staff": {want: boardOnly()},
		"POST /admin/board/staff": {want: boardOnly(), form: func(map[string]string) url.Values {
			return url.Values{"name": {"委員 太郎"}, "login": {"board." + randomName()}}
		}},
		"GET /admin/audit":              {want: adminsOnly()},
		"GET /admin/audit/export":       {want: adminsOnly()},
		"GET /admin/schools/{schoolID}": {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/settings": {want: schoolAdminOnly(), form: func(map[string]string) url.Values {
			return url.Values{"office_open": {"08:00"}, "office_close": {"17:00"}, "office_days": {"1", "2"}, "teacher_totp": {"on"}}
		}},
		"GET /admin/schools/{schoolID}/closed-days": {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/closed-days": {want: schoolAdminOnly(), form: func(map[string]string) url.Values {
			return url.Values{"day": {"2030-04-30"}, "note": {"振替休業日"}}
		}},
		"POST /admin/schools/{schoolID}/closed-days/{day}/delete": {want: schoolAdminOnly(), fresh: true},
		"GET /admin/schools/{schoolID}/structure":                 {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/classes": {want: schoolAdminOnly(), form: func(ids map[string]string) url.Values {
			return url.Values{"grade": {"4"}, "name": {randomName()[:6]}, "year": {ids["year"]}}
		}},
		"POST /admin/classes/{classID}/enrolment": {want: schoolAdminOnly(), form: func(map[string]string) url.Values {
			return url.Values{"enrolment": {"25"}}
		}},
		"POST /admin/classes/{classID}/delete": {want: schoolAdminOnly(), fresh: true},
		// 転出: the school's administrators; the class's teachers see the child but may
		// not mark it.
		"POST /staff/children/{childID}/transfer": {want: map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.NotFound,
			homeroom: apptest.Forbidden, advisor: apptest.Forbidden, teacherA: apptest.Forbidden, teacherB: apptest.NotFound}, fresh: true},
		"POST /staff/children/{childID}/class": {want: map[persona]apptest.Outcome{anon: apptest.Login, disabled: apptest.Login, board: apptest.OK, adminA: apptest.OK, adminB: apptest.NotFound,
			homeroom: apptest.Forbidden, advisor: apptest.Forbidden, teacherA: apptest.Forbidden, teacherB: apptest.NotFound}, fresh: true,
			form: func(ids map[string]string) url.Values { return url.Values{"class": {ids["classID"]}} }},
		"POST /admin/schools/{schoolID}/clubs": {want: schoolAdminOnly(), form: func(ids map[string]string) url.Values {
			return url.Values{"club": {"部" + randomName()}, "year": {ids["year"]}}
		}},
		"POST /admin/clubs/{clubID}/delete":   {want: schoolAdminOnly(), fresh: true},
		"GET /admin/schools/{schoolID}/staff": {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/staff": {want: schoolAdminOnly(), form: func(map[string]string) url.Values {
			return url.Values{"name": {"新任 先生"}, "login": {"t." + randomName()}, "role": {"teacher"}}
		}},
		"GET /admin/staff/{staffID}": {want: schoolAdminOnly()},
		"POST /admin/staff/{staffID}/assignments": {want: schoolAdminOnly(), fresh: true, form: func(ids map[string]string) url.Values {
			return url.Values{"duty": {"homeroom"}, "class": {ids["classID"]}}
		}},
		"POST /admin/assignments/{assignmentID}/delete": {want: schoolAdminOnly(), fresh: true},
		"POST /admin/staff/{staffID}/disable":           {want: schoolAdminOnly(), fresh: true},
		"POST /admin/staff/{staffID}/enable":            {want: schoolAdminOnly(), fresh: true},
		"POST /admin/staff/{staffID}/link":              {want: schoolAdminOnly(), fresh: true}, // ends the account's sessions
		"GET /admin/schools/{schoolID}/channel":         {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/channel":        {want: schoolAdminOnly(), form: func(map[string]string) url.Values { return url.Values{"channel_id": {"1234"}} }},
		"POST /admin/schools/{schoolID}/channel/test":   {want: schoolAdminOnly()},
		"GET /admin/schools/{schoolID}/roster":          {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/roster/import":  {want: schoolAdminOnly(), form: func(map[string]string) url.Values { return url.Values{"kind": {"classes"}} }},
		"GET /admin/schools/{schoolID}/roster/export":   {want: schoolAdminOnly()},
		"GET /admin/schools/{schoolID}/roster/template": {want: schoolAdminOnly(), query: func(map[string]string) string { return "?kind=staff&encoding=shift_jis" }},
		"GET /admin/schools/{schoolID}/audit":           {want: schoolAdminOnly()},
		"GET /admin/schools/{schoolID}/rollover":        {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/rollover/copy":  {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/rollover/plan": {want: schoolAdminOnly(), form: func(ids map[string]string) url.Values {
			y, err := strconv.Atoi(ids["year"])
			if err != nil { // no t here: the row's subtest fails on the panic
				panic("authz matrix: the fixture has no school year: " + err.Error())
			}
			return url.Values{"graduating": {"6"}, "switch_on": {strconv.Itoa(y+1) + "-04-06"}}
		}},
		// Asked before February and switched before April, the page says why (409).
		"POST /admin/schools/{schoolID}/rollover/ask":    {want: schoolAdminOnly()},
		"POST /admin/schools/{schoolID}/rollover/switch": {want: schoolAdminOnly()},
		"GET /admin/schools/{schoolID}/audit/export":     {want: schoolAdminOnly()},
	}
}

var nameCounter int

// closedDays counts the closed days the matrix marked (each a day of 2031).
var closedDays int

func randomName() string {
	nameCounter++
	return fmt.Sprintf("m%05d", nameCounter)
}

// TestAuthorisationMatrix requests every route as every persona and compares the
// outcome with the matrix; a route without a row fails the test.
func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)

	rows := matrix()
	var routes []string
	err := chi.Walk(a.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(routes)
	for _, r := range routes {
		if _, ok := rows[r]; !ok {
			t.Errorf("route %s has no row in the authorisation matrix", r)
		}
	}
	for r := range rows {
		if !slices.Contains(routes, r) {
			t.Errorf("matrix row %s is not a route", r)
		}
	}

	// Sign every persona in over HTTP; the disabled persona is disabled afterwards, so
	// its session is one that must end at once.
	accounts := map[persona]staff.Staff{board: w.BoardAdmin, adminA: w.AdminA, adminB: w.AdminB, homeroom: w.HomeroomA11,
		advisor: w.AdvisorA, teacherA: w.TeacherA, teacherB: w.TeacherB}
	spare := w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "spare.a", "予備 先生")
	accounts[disabled] = spare
	clients := map[persona]*apptest.StaffClient{}
	for _, p := range personas {
		c := apptest.NewStaffClient(t, a.URL())
		if st, ok := accounts[p]; ok {
			c.SignIn(st.Login.Reveal(), stafftest.Password)
		}
		clients[p] = c
	}
	if err := w.Staff.SetDisabled(w.Ctx(t, w.AdminA), spare.ID, true); err != nil {
		t.Fatal(err)
	}

	asAdminA := w.Ctx(t, w.AdminA)
	year := strconv.Itoa(w.SchoolA.CurrentYear)
	var homeroomDuty int64
	for _, x := range mustGet(t, w, w.HomeroomA11.ID).Assignments {
		homeroomDuty = x.ID
	}
	base := map[string]string{"conversationID": apptest.Itoa(conversationA11(t, a, w)), "messageID": apptest.Itoa(matrixImage), "guardianshipID": apptest.Itoa(pendingRegistration(t, a, w)), "schoolID": apptest.Itoa(w.SchoolA.ID), "classID": apptest.Itoa(w.ClassA11.ID), "clubID": apptest.Itoa(w.ClubA.ID),
		"staffID": apptest.Itoa(w.TeacherA.ID), "assignmentID": apptest.Itoa(homeroomDuty), "token": "not-a-token", "channelID": "2000000001", "year": year,
		"reportID": "1", "classA11": apptest.Itoa(w.ClassA11.ID), "homeroomStaff": apptest.Itoa(w.HomeroomA11.ID), "cannedID": apptest.Itoa(schoolCanned(t, a, w)), "today": time.Now().In(school.Tokyo).Format("2006-01-02"),
		"day": "2030-01-01"}
	base["announcementID"], base["handoutID"] = matrixAnnouncement(t, a, w)
	base["childID"] = apptest.Itoa(childOf(t, a, pendingRegistration(t, a, w)))
	// The results' routes read a sent survey; the routes before sending take a fresh
	// draft (fresh, below).
	base["surveyID"], base["fileID"] = matrixSentSurvey(t, a, w)
	base["surveyDeadline"] = time.Now().In(school.Tokyo).AddDate(0, 0, 7).Format("2006-01-02")
	// fresh makes objects in school A an allowed persona's request may change or delete.
	fresh := func() map[string]string {
		ids := map[string]string{}
		for k, v := range base {
			ids[k] = v
		}
		c, err := w.Schools.CreateClass(asAdminA, w.SchoolA.ID, school.Class{Year: w.SchoolA.CurrentYear, Grade: 5, Name: randomName()[:6]})
		if err != nil {
			t.Fatal(err)
		}
		k, err := w.Schools.CreateClub(asAdminA, w.SchoolA.ID, school.Club{Year: w.SchoolA.CurrentYear, Name: "部" + randomName()})
		if err != nil {
			t.Fatal(err)
		}
		st := w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "f."+randomName(), "一時 先生")
		as, err := w.Staff.Assign(asAdminA, st.ID, staff.NewAssignment{Duty: authz.Advisor, ClubID: k.ID})
		if err != nil {
			t.Fatal(err)
		}
		ids["classID"], ids["clubID"], ids["staffID"], ids["assignmentID"] = apptest.Itoa(c.ID), apptest.Itoa(k.ID), apptest.Itoa(st.ID), apptest.Itoa(as.ID)
		ids["guardianshipID"] = apptest.Itoa(pendingRegistration(t, a, w))
		ids["childID"] = apptest.Itoa(childOf(t, a, pendingRegistration(t, a, w)))
		ids["cannedID"] = apptest.Itoa(schoolCanned(t, a, w))
		ids["announcementID"], ids["handoutID"] = matrixAnnouncement(t, a, w)
		ids["surveyID"] = matrixSurvey(t, a, w)
		closedDays++
		ids["day"] = time.Date(2031, time.January, closedDays, 0, 0, 0, 0, school.Tokyo).Format("2006-01-02")
		if err := w.Schools.AddClosedDay(asAdminA, w.SchoolA.ID, ids["day"], ""); err != nil {
			t.Fatal(err)
		}
		return ids
	}

	// Signing out comes last: it ends the personas' sessions.
	last := []string{"POST /staff/account/signout-all", "POST /staff/logout"}
	ordered := append(without(routes, last), last...)
	for _, route := range ordered {
		row := rows[route]
		method, pattern, _ := strings.Cut(route, " ")
		for _, p := range personas {
			want := row.want[p]
			ids := base
			if row.fresh && want == apptest.OK {
				ids = fresh()
			}
			path := fill(pattern, ids)
			if row.query != nil {
				path += row.query(ids)
			}
			c := clients[p]
			var r apptest.Response
			switch {
			case row.stream:
				r = c.Status(path)
			case method == http.MethodGet:
				r = c.Get(path)
			case method == http.MethodHead:
				r = c.Do(apptest.MustRequest(t, http.MethodHead, c.Base+path, nil))
			default:
				var form url.Values
				if row.form != nil {
					form = row.form(ids)
				}
				r = c.Post(path, form)
			}
			if got := apptest.Classify(r); got != want && !(want == apptest.Public && r.Status < 500) {
				t.Errorf("%s as %s: got %s (status %d → %q), want %s", route, p, got, r.Status, r.Location, want)
			}
		}
	}
}

func fill(pattern string, ids map[string]string) string {
	out := pattern
	for k, v := range ids {
		out = strings.ReplaceAll(out, "{"+k+"}", v)
	}
	return strings.Replace(out, "*", "app.css", 1)
}

func without(list, drop []string) []string {
	var out []string
	for _, x := range list {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

func mustGet(t *testing.T, w *stafftest.World, id int64) staff.Staff {
	t.Helper()
	st, err := w.Staff.Get(w.Ctx(t, w.AdminA), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var friendCounter int

// pendingRegistration makes a parent of a child in 1年1組 of school A waiting for
// approval, and returns the guardianship's ID.
func pendingRegistration(t *testing.T, a *app.App, w *stafftest.World) int64 {
	t.Helper()
	ctx := context.Background()
	s := a.Services()
	ch, err := s.LINE.FindChannelByLineID(ctx, "2000000999")
	if err != nil {
		if _, err := s.LINE.SetChannel(ctx, audit.OperatorActor, w.SchoolA.ID, w.Board.ID, line.Channel{LineChannelID: "2000000999",
			Secret: "0123456789abcdef0123456789abcdef", AccessToken: "matrix-token-0123456789"}); err != nil {
			t.Fatal(err)
		}
		if ch, err = s.LINE.FindChannelByLineID(ctx, "2000000999"); err != nil {
			t.Fatal(err)
		}
	}
	friendCounter++
	var id int64
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		f := line.Friend{ChannelID: ch.ID, UserID: vault.Personal(fmt.Sprintf("U%032x", friendCounter)), Language: "ja", Following: true}
		if err := s.LINE.Store.SaveFriendFollow(ctx, &f, time.Now()); err != nil {
			return err
		}
		st := s.Registration.Store
		g := registration.Guardian{FriendID: f.ID, Name: "保護者 太郎", Relationship: "father", Nickname: "たろう", Language: "ja", ConsentVersion: 1, ConsentedAt: time.Now()}
		if err := st.SaveGuardian(ctx, &g); err != nil {
			return err
		}
		child, err := st.FindOrCreateChild(ctx, w.SchoolA.ID, w.ClassA11.ID, vault.Personal(fmt.Sprintf("児童 %d", friendCounter)))
		if err != nil {
			return err
		}
		id, err = st.LinkChild(ctx, g.ID, child, registration.Pending, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// childOf returns the child of a guardianship.
func childOf(t *testing.T, a *app.App, guardianshipID int64) int64 {
	t.Helper()
	var child int64
	if err := a.Pool().QueryRow(context.Background(), `SELECT child_id FROM guardianship WHERE id = $1`, guardianshipID).Scan(&child); err != nil {
		t.Fatal(err)
	}
	return child
}

// matrixImage is the stored image of conversationA11's conversation.
var matrixImage int64

// conversationA11 makes a parent's conversation with the homeroom teacher of 1年1組 at
// school A and returns its ID.
func conversationA11(t *testing.T, a *app.App, w *stafftest.World) int64 {
	t.Helper()
	ctx := context.Background()
	s := a.Services()
	gid := pendingRegistration(t, a, w)
	var convID int64
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		var guardianID, childID int64
		if err := tx.QueryRow(ctx, `SELECT guardian_id, child_id FROM guardianship WHERE id = $1`, gid).Scan(&guardianID, &childID); err != nil {
			return err
		}
		var err error
		convID, err = s.Inbox.Store.OpenConversation(ctx, guardianID, inbox.Choice{Target: inbox.Homeroom, ChildID: childID, ClassID: w.ClassA11.ID, SchoolID: w.SchoolA.ID})
		if err != nil {
			return err
		}
		if err := s.Inbox.Store.AddMessage(ctx, convID, &inbox.Message{Direction: "in", Body: "明日の持ち物を教えてください"}, 0); err != nil {
			return err
		}
		img := &inbox.Message{Direction: "in", Kind: "image", ContentState: "pending", LineMessageID: "1234"}
		if err := s.Inbox.Store.AddMessage(ctx, convID, img, 0); err != nil {
			return err
		}
		matrixImage = img.ID
		return s.Inbox.Store.SaveContent(ctx, img.ID, []byte("\x89PNG\r\n\x1a\n"), "image/png")
	})
	if err != nil {
		t.Fatal(err)
	}
	return convID
}

// schoolCanned makes a school-wide 定型文 at school A.
func schoolCanned(t *testing.T, a *app.App, w *stafftest.World) int64 {
	t.Helper()
	s := a.Services()
	c := inbox.Canned{SchoolID: w.SchoolA.ID, Title: "お礼", Body: "ご連絡ありがとうございます。"}
	err := s.Tx.InTx(context.Background(), func(ctx context.Context) error { return s.Inbox.Store.CreateCanned(ctx, &c) })
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// matrixAnnouncement drafts an announcement with a handout to 1年1組 of school A.
func matrixAnnouncement(t *testing.T, a *app.App, w *stafftest.World) (string, string) {
	t.Helper()
	s := a.Services()
	c := announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: w.SchoolA.ID, Classes: []int64{w.ClassA11.ID}},
		Title: "お知らせ", Body: "明日は午前授業です。", Files: []announce.Upload{{Name: "予定.pdf", Data: apptest.SamplePDF("matrix")}}}
	annID, err := s.Announce.Create(w.Ctx(t, w.AdminA), c, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	an, err := s.Announce.Get(w.Ctx(t, w.AdminA), annID)
	if err != nil {
		t.Fatal(err)
	}
	return apptest.Itoa(annID), apptest.Itoa(an.Handouts[0].ID)
}

// matrixSentSurvey is a survey school A's administrator sent to 1年1組, with a handout,
// once sent; it returns the survey's ID and the handout's.
func matrixSentSurvey(t *testing.T, a *app.App, w *stafftest.World) (string, string) {
	t.Helper()
	s := a.Services()
	ctx := w.Ctx(t, w.AdminA)
	c := survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{SchoolID: w.SchoolA.ID, Classes: []int64{w.ClassA11.ID}},
		Title: "授業参観", PerChild: true, Deadline: time.Now().Add(72 * time.Hour),
		Questions: []survey.Question{{Kind: survey.Single, Text: "出欠", Choices: []survey.Choice{{Label: "参加"}, {Label: "不参加"}}}},
		Files:     []announce.Upload{{Name: "ご案内.pdf", Data: apptest.SamplePDF("ご案内")}}}
	id, err := s.Surveys.Create(ctx, c, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(30 * time.Second); ; {
		sv, err := s.Surveys.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if sv.State == survey.Sent {
			return apptest.Itoa(id), apptest.Itoa(sv.Handouts[0].ID)
		}
		if time.Now().After(end) {
			t.Fatalf("the matrix survey stayed %s", sv.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// matrixSurvey is a draft attendance check for 1年1組 of school A, by its administrator.
func matrixSurvey(t *testing.T, a *app.App, w *stafftest.World) string {
	t.Helper()
	s := a.Services()
	c := survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{SchoolID: w.SchoolA.ID, Classes: []int64{w.ClassA11.ID}},
		Title: "授業参観", PerChild: true, Deadline: time.Now().Add(72 * time.Hour),
		Questions: survey.AttendanceQuestions(func(id string) string { return s.Registration.T("ja", id, nil) }, false, false)}
	id, err := s.Surveys.Create(w.Ctx(t, w.AdminA), c, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	return apptest.Itoa(id)
}
