package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
)

// Password is every demo account's password (dev mode only).
const Password = "renraku-demo-2026"

// Login is a demo account as the dev banner prints it.
type Login struct {
	Login  string
	Role   authz.Role
	School string
	Duties string
	// TOTPSecret is set for administrators, who must use a second factor; the dev mode
	// shows their current codes at /_dev/totp.
	TOTPSecret string
}

type demoClass struct {
	grade int
	name  string
}

type demoStaff struct {
	login, name string
	role        authz.Role
	duties      []demoDuty
}

type demoDuty struct {
	duty  authz.Duty
	class demoClass
	club  string
}

type demoSchool struct {
	classes []demoClass
	clubs   []string
	staff   []demoStaff
}

var demoSchools = []demoSchool{
	{
		classes: []demoClass{{1, "1組"}, {1, "2組"}, {2, "1組"}, {3, "1組"}, {4, "1組"}, {5, "1組"}, {6, "1組"}},
		clubs:   []string{"科学クラブ", "サッカークラブ"},
		staff: []demoStaff{
			{"sakura.kocho", "桜井 校長", authz.SchoolAdmin, nil},
			{"sakura.tannin11", "佐藤 一子", authz.Teacher, []demoDuty{{duty: authz.Homeroom, class: demoClass{1, "1組"}}}},
			{"sakura.tannin12", "鈴木 二郎", authz.Teacher, []demoDuty{{duty: authz.Homeroom, class: demoClass{1, "2組"}}, {duty: authz.SubHomeroom, class: demoClass{1, "1組"}}}},
			{"sakura.komon", "高橋 三郎", authz.Teacher, []demoDuty{{duty: authz.Advisor, club: "サッカークラブ"}}},
			{"sakura.jimu", "田中 四子", authz.Teacher, []demoDuty{{duty: authz.Office}}},
		},
	},
	{
		classes: []demoClass{{1, "A組"}, {1, "B組"}, {2, "A組"}, {3, "A組"}},
		clubs:   []string{"サッカー部", "吹奏楽部", "美術部"},
		staff: []demoStaff{
			{"hikari.kyoto", "光 教頭", authz.SchoolAdmin, nil},
			{"hikari.tannin1a", "伊藤 五郎", authz.Teacher, []demoDuty{{duty: authz.Homeroom, class: demoClass{1, "A組"}}, {duty: authz.Advisor, club: "吹奏楽部"}}},
		},
	},
}

// SeedStaff creates (once) the demo schools' classes, clubs and staff in every role,
// through the same services the console uses, and returns their logins. Demo
// schools do not require a second factor of teachers, so a teacher signs in with the
// password alone; administrators always need one.
func SeedStaff(ctx context.Context, s *app.Services) ([]Login, error) {
	b, err := s.Schools.FindBoard(ctx, BoardName)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	var out []Login
	l, err := ensureStaff(ctx, s, staff.NewStaff{BoardID: b.ID, Role: authz.BoardAdmin, Login: "midori.kyoiku", Name: "緑川 教育委員会"})
	if err != nil {
		return nil, err
	}
	out = append(out, l)
	adminCtx, err := signedIn(ctx, s, l.Login)
	if err != nil {
		return nil, err
	}
	for i, ds := range demoSchools {
		sc, err := s.Schools.FindSchool(ctx, Schools[i].Name)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		for _, st := range ds.staff {
			l, err := ensureStaff(ctx, s, staff.NewStaff{BoardID: b.ID, SchoolID: sc.ID, Role: st.role, Login: st.login, Name: st.name})
			if err != nil {
				return nil, err
			}
			l.School = sc.Name
			out = append(out, l)
		}
		settings := sc.Settings
		settings.TeacherTOTP = false
		if settings.AutoReply == "" {
			settings.AutoReply = "受付時間外のため、翌日以降に確認します。急ぎの場合は学校へお電話ください。"
		}
		if sc.TeacherTOTP || sc.AutoReply == "" {
			if err := s.Schools.UpdateSettings(adminCtx, sc.ID, settings); err != nil {
				return nil, fmt.Errorf("demo: %w", err)
			}
		}
		classes := map[demoClass]int64{}
		clubs := map[string]int64{}
		st, err := s.Schools.Structure(adminCtx, sc.ID, 0)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		for _, c := range st.Classes {
			classes[demoClass{c.Grade, c.Name}] = c.ID
		}
		for _, c := range st.Clubs {
			clubs[c.Name] = c.ID
		}
		for _, c := range ds.classes {
			if classes[c] != 0 {
				continue
			}
			got, err := s.Schools.CreateClass(adminCtx, sc.ID, school.Class{Year: sc.CurrentYear, Grade: c.grade, Name: c.name})
			if err != nil {
				return nil, fmt.Errorf("demo: %w", err)
			}
			classes[c] = got.ID
		}
		// Every class has a registration code for the letters (the console shows them).
		codes, err := s.Registration.Codes(adminCtx, sc.BoardID, sc.ID, sc.CurrentYear)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		for _, c := range codes {
			if c.Code.IsZero() {
				if err := s.Registration.NewCode(adminCtx, sc.BoardID, sc.ID, c.ClassID); err != nil {
					return nil, fmt.Errorf("demo: %w", err)
				}
			}
		}
		for _, c := range ds.clubs {
			if clubs[c] != 0 {
				continue
			}
			got, err := s.Schools.CreateClub(adminCtx, sc.ID, school.Club{Year: sc.CurrentYear, Name: c})
			if err != nil {
				return nil, fmt.Errorf("demo: %w", err)
			}
			clubs[c] = got.ID
		}
		for j, st := range ds.staff {
			id := out[len(out)-len(ds.staff)+j]
			acc, err := s.Staff.FindByLogin(ctx, id.Login)
			if err != nil {
				return nil, fmt.Errorf("demo: %w", err)
			}
			for _, d := range st.duties {
				_, err := s.Staff.Assign(adminCtx, acc.ID, staff.NewAssignment{Duty: d.duty, ClassID: classes[d.class], ClubID: clubs[d.club]})
				if err != nil && apperr.KindOf(err) != apperr.Conflict {
					return nil, fmt.Errorf("demo: assign %s: %w", st.login, err)
				}
				label := d.club
				if d.class.name != "" {
					label = fmt.Sprintf("%d年%s", d.class.grade, d.class.name)
				}
				if out[len(out)-len(ds.staff)+j].Duties != "" {
					out[len(out)-len(ds.staff)+j].Duties += ", "
				}
				out[len(out)-len(ds.staff)+j].Duties += label + dutyWord(d.duty)
			}
		}
	}
	return out, nil
}

func dutyWord(d authz.Duty) string {
	switch d {
	case authz.Homeroom:
		return " 担任"
	case authz.SubHomeroom:
		return " 副担任"
	case authz.Advisor:
		return " 顧問"
	}
	return "学校宛ての連絡"
}

// ensureStaff creates a demo account with Password (and, for administrators, a second
// factor) unless it exists; it returns its login either way.
func ensureStaff(ctx context.Context, s *app.Services, in staff.NewStaff) (Login, error) {
	l := Login{Login: in.Login, Role: in.Role}
	acc, err := s.Staff.FindByLogin(ctx, in.Login)
	var inv staff.Invite
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		if inv, err = s.Staff.Bootstrap(ctx, in); err != nil {
			return l, fmt.Errorf("demo: create %s: %w", in.Login, err)
		}
		acc = inv.Staff
	case err != nil:
		return l, fmt.Errorf("demo: %w", err)
	case !acc.PasswordSet:
		// An earlier start was stopped between creating the account and setting its
		// password: carry on from there.
		if inv, err = s.Staff.BootstrapLink(ctx, acc.ID); err != nil {
			return l, fmt.Errorf("demo: link %s: %w", in.Login, err)
		}
	}
	if inv.Token != "" {
		if _, err := s.Staff.SetPasswordFromLink(ctx, inv.Token, Password, Password, staff.Client{}); err != nil {
			return l, fmt.Errorf("demo: password %s: %w", in.Login, err)
		}
	}
	if in.Role == authz.Teacher {
		return l, nil
	}
	secret, err := s.Staff.DevTOTPSecret(ctx, acc.ID)
	if err != nil {
		return l, err
	}
	if secret == "" {
		enr, err := s.Staff.BeginEnrolment(ctx, acc.ID)
		if err != nil {
			return l, fmt.Errorf("demo: enrol %s: %w", in.Login, err)
		}
		code, err := totp.GenerateCode(enr.Secret, time.Now())
		if err != nil {
			return l, err
		}
		if _, err := s.Staff.ConfirmEnrolment(ctx, acc.ID, code, Password, false, staff.Client{}); err != nil {
			return l, fmt.Errorf("demo: enrol %s: %w", in.Login, err)
		}
		secret = enr.Secret
	}
	l.TOTPSecret = secret
	return l, nil
}

// signedIn returns a context signed in as the demo account login.
func signedIn(ctx context.Context, s *app.Services, login string) (context.Context, error) {
	acc, err := s.Staff.FindByLogin(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	a, err := s.Staff.Actor(ctx, acc.ID, acc.SessionEpoch)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return authz.WithActor(ctx, a), nil
}
