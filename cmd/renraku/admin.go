package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/usertext"
	"github.com/renraku/renraku/internal/vault"
)

// runAdmin bootstraps boards, schools and channels from the command line, before (or
// instead of) the console. Every command is idempotent and audited as the operator.
func runAdmin(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errors.New("admin: say create-board, create-school, set-channel or create-staff")
	}
	sub, args := args[0], args[1:]
	var (
		name, board, schoolRef, typ, district string
		channelID, secretFile, tokenFile      string
		loginChannelID, liffID                string
		role, login                           string
	)
	own := func(fs *flag.FlagSet) {
		switch sub {
		case "create-board":
			fs.StringVar(&name, "name", "", "board name, e.g. みどり市教育委員会")
		case "create-school":
			fs.StringVar(&board, "board", "", "board name or ID")
			fs.StringVar(&name, "name", "", "school name")
			fs.StringVar(&typ, "type", "小学校", "小学校 or 中学校")
			fs.StringVar(&district, "district", "", "school district (学区)")
		case "set-channel":
			fs.StringVar(&schoolRef, "school", "", "school name or ID")
			fs.StringVar(&channelID, "channel-id", "", "LINE Messaging API channel ID")
			fs.StringVar(&secretFile, "secret-file", "", "file holding the channel secret")
			fs.StringVar(&tokenFile, "token-file", "", "file holding the channel access token")
			fs.StringVar(&loginChannelID, "login-channel-id", "", "LINE Login channel ID for LIFF (optional)")
			fs.StringVar(&liffID, "liff-id", "", "LIFF app ID (optional)")
		case "create-staff":
			fs.StringVar(&role, "role", "", "board-admin, school-admin or teacher")
			fs.StringVar(&board, "board", "", "board name or ID (board-admin)")
			fs.StringVar(&schoolRef, "school", "", "school name or ID (school-admin, teacher)")
			fs.StringVar(&login, "login", "", "the person's own login ID, e.g. tanaka.h")
			fs.StringVar(&name, "name", "", "the person's name")
		}
	}
	cfg, _, err := loadConfig(env, "admin "+sub, args, own)
	if err != nil {
		return err
	}
	// Names typed on the command line are cleaned as those typed in a browser are.
	name, district = usertext.Clean(name), usertext.Clean(district)
	deps, err := app.OpenTools(ctx, cfg, newLogger(env, cfg))
	if err != nil {
		return err
	}
	defer deps.Close()
	op := audit.OperatorActor

	switch sub {
	case "create-board":
		b, created, err := deps.Schools.EnsureBoard(ctx, op, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "board %d %s (%s)\n", b.ID, b.Name, createdWord(created))
	case "create-school":
		if board == "" {
			return errors.New("admin create-school: --board is required")
		}
		sc, created, err := deps.Schools.EnsureSchool(ctx, op, board, school.School{Name: name, Type: typ, District: district})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "school %d %s %s (%s)\n", sc.ID, sc.Name, school.TypeLabel(sc.Type), createdWord(created))
	case "set-channel":
		if schoolRef == "" || secretFile == "" || tokenFile == "" {
			return errors.New("admin set-channel: --school, --channel-id, --secret-file and --token-file are required (secrets are read from files, never flags)")
		}
		secret, err := readSecretFile(secretFile)
		if err != nil {
			return err
		}
		token, err := readSecretFile(tokenFile)
		if err != nil {
			return err
		}
		sc, err := deps.Schools.FindSchool(ctx, schoolRef)
		if err != nil {
			return err
		}
		changed, err := deps.LINE.SetChannel(ctx, op, sc.ID, sc.BoardID, line.Channel{LineChannelID: channelID,
			Secret: secret, AccessToken: token, LoginChannelID: loginChannelID, LIFFID: liffID})
		if err != nil {
			return err
		}
		word := "unchanged"
		if changed {
			word = "saved"
		}
		fmt.Fprintf(env.Stdout, "channel %s for %s: %s; webhook URL: %s/line/webhook/%s\n", channelID, sc.Name, word, strings.TrimSuffix(deps.BaseURL(), "/"), channelID)
	case "create-staff":
		in, err := staffInput(ctx, deps, role, board, schoolRef)
		if err != nil {
			return err
		}
		in.Login, in.Name = login, name
		inv, err := deps.Staff.Bootstrap(ctx, in)
		if err != nil {
			if f := apperr.FieldsOf(err); f != nil {
				return fmt.Errorf("admin create-staff: %s", f.Error())
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "staff %d %s (%s) created\none-time sign-in link (works once, until %s):\n%s%s\n",
			inv.Staff.ID, inv.Staff.Login.Reveal(), role, inv.Expires.In(school.Tokyo).Format("2006-01-02 15:04 MST"),
			strings.TrimSuffix(deps.BaseURL(), "/"), staff.WelcomePath(inv.Token))
	default:
		return fmt.Errorf("admin: unknown command %q", sub)
	}
	return nil
}

// staffInput resolves --role with --board or --school.
func staffInput(ctx context.Context, deps *app.Tools, role, board, schoolRef string) (staff.NewStaff, error) {
	switch role {
	case "board-admin":
		if board == "" || schoolRef != "" {
			return staff.NewStaff{}, errors.New("admin create-staff: a board-admin needs --board (and no --school)")
		}
		b, err := deps.Schools.FindBoard(ctx, board)
		if err != nil {
			return staff.NewStaff{}, fmt.Errorf("admin create-staff: board %q: %w", board, err)
		}
		return staff.NewStaff{BoardID: b.ID, Role: authz.BoardAdmin}, nil
	case "school-admin", "teacher":
		if schoolRef == "" || board != "" {
			return staff.NewStaff{}, fmt.Errorf("admin create-staff: a %s needs --school (and no --board)", role)
		}
		sc, err := deps.Schools.FindSchool(ctx, schoolRef)
		if err != nil {
			return staff.NewStaff{}, fmt.Errorf("admin create-staff: school %q: %w", schoolRef, err)
		}
		r := authz.Teacher
		if role == "school-admin" {
			r = authz.SchoolAdmin
		}
		return staff.NewStaff{BoardID: sc.BoardID, SchoolID: sc.ID, Role: r}, nil
	}
	return staff.NewStaff{}, errors.New("admin create-staff: --role must be board-admin, school-admin or teacher")
}

func createdWord(created bool) string {
	if created {
		return "created"
	}
	return "already existed"
}

// readSecretFile reads a credential from a file, refusing files others can read.
func readSecretFile(path string) (vault.Personal, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("admin: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("admin: %s is readable by others (mode %v): chmod 600 it first", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin: %w", err)
	}
	return vault.Personal(strings.TrimSpace(string(b))), nil
}
