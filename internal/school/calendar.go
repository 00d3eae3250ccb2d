package school

import "time"

// IsSchoolDay reports whether day (a date in Asia/Tokyo) is a day pupils are at
// school: Monday to Friday, except Japan's national holidays (国民の祝日, 振替休日 and
// 国民の休日). A school's own closed days (休校日: 長期休業, 学校行事の振替) are
// stored per school (ClosedDay) and checked by the callers as well: the absence form's
// suggested date and the class-closure alert.
func IsSchoolDay(day time.Time) bool {
	day = day.In(Tokyo)
	switch day.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !IsHoliday(day)
}

// IsHoliday reports whether day (in Asia/Tokyo) is a national holiday under the
// 国民の祝日に関する法律 as it stands since 2020: the fixed and Monday holidays, the
// equinoxes, a 振替休日 after a holiday on a Sunday, and a 国民の休日 between two
// holidays. The equinoxes follow the usual approximation, valid from 1980 to 2099.
func IsHoliday(day time.Time) bool {
	y, m, d := day.In(Tokyo).Date()
	if nationalHoliday(y, m, d) {
		return true
	}
	t := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	// 振替休日: the first day after a run of holidays that began on a Sunday.
	for p := t.AddDate(0, 0, -1); holidayOn(p); p = p.AddDate(0, 0, -1) {
		if p.Weekday() == time.Sunday {
			return true
		}
	}
	// 国民の休日: a weekday between two holidays.
	return t.Weekday() != time.Sunday && holidayOn(t.AddDate(0, 0, -1)) && holidayOn(t.AddDate(0, 0, 1))
}

func holidayOn(t time.Time) bool {
	y, m, d := t.Date()
	return nationalHoliday(y, m, d)
}

// nationalHoliday reports the holidays the law names by date or by rule.
func nationalHoliday(y int, m time.Month, d int) bool {
	switch m {
	case time.January:
		return d == 1 || d == nthMonday(y, m, 2) // 元日, 成人の日
	case time.February:
		return d == 11 || d == 23 // 建国記念の日, 天皇誕生日
	case time.March:
		return d == equinox(y, 20.8431) // 春分の日
	case time.April:
		return d == 29 // 昭和の日
	case time.May:
		return d == 3 || d == 4 || d == 5 // 憲法記念日, みどりの日, こどもの日
	case time.July:
		return d == nthMonday(y, m, 3) // 海の日
	case time.August:
		return d == 11 // 山の日
	case time.September:
		return d == nthMonday(y, m, 3) || d == equinox(y, 23.2488) // 敬老の日, 秋分の日
	case time.October:
		return d == nthMonday(y, m, 2) // スポーツの日
	case time.November:
		return d == 3 || d == 23 // 文化の日, 勤労感謝の日
	}
	return false
}

// nthMonday is the day of the month of the nth Monday of month m.
func nthMonday(y int, m time.Month, n int) int {
	first := time.Date(y, m, 1, 12, 0, 0, 0, time.UTC).Weekday()
	return 1 + (int(time.Monday)-int(first)+7)%7 + 7*(n-1)
}

// equinox is the day of the vernal (base 20.8431) or autumnal (23.2488) equinox in
// Japan by the usual formula.
func equinox(y int, base float64) int {
	return int(base+0.242194*float64(y-1980)) - (y-1980)/4
}

// The bounds of a school's response window (Settings.ResponseWindowDays) and its default.
const (
	MinResponseWindow     = 1
	MaxResponseWindow     = 10
	DefaultResponseWindow = 2
)

// WindowEnd is when a window of n school days opened at since closes: midnight (Asia/Tokyo)
// after the nth school day that follows since's own day. The day a message arrives does
// not count, so a message of Friday evening with a window of 2 is due by the end of
// Tuesday (Monday and Tuesday being school days). A school day is IsSchoolDay and not
// closed (the school's own closed days; nil: none). Should no school day come within a
// year, the window closes a year on.
func WindowEnd(since time.Time, n int, closed func(day time.Time) bool) time.Time {
	day := Day(since)
	limit := day.AddDate(1, 0, 0)
	for n > 0 && day.Before(limit) {
		day = day.AddDate(0, 0, 1)
		if IsSchoolDay(day) && (closed == nil || !closed(day)) {
			n--
		}
	}
	return day.AddDate(0, 0, 1)
}

// Overdue reports whether a message waiting since since is past a window of n school days
// at now.
func Overdue(since, now time.Time, n int, closed func(day time.Time) bool) bool {
	return !now.Before(WindowEnd(since, n, closed))
}
