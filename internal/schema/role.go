package schema

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// AppRole is the group role (NOLOGIN) that migration 000015 creates and grants to: it
// may read and write every table, but only read and append to the audit log. The
// server's login roles are members of it; migrations run as the schema's owner.
const AppRole = "renraku_app"

// EnsureAppLogin makes sure a login role named user exists and is a member of AppRole
// (creating it with password when missing), and returns ownerURL with its user and
// password replaced by the login role's: the URL the server runs with. The schema must
// be migrated (AppRole must exist), and ownerURL's role must be able to create roles.
func EnsureAppLogin(ctx context.Context, ownerURL, user, password string) (string, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return "", fmt.Errorf("schema: %s", redactURL(err.Error(), ownerURL))
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, user).Scan(&exists); err != nil {
		return "", fmt.Errorf("schema: %w", err)
	}
	if !exists {
		stmt := "CREATE ROLE " + pgx.Identifier{user}.Sanitize() + " LOGIN"
		if password != "" {
			stmt += " PASSWORD '" + strings.ReplaceAll(password, "'", "''") + "'"
		}
		stmt += " IN ROLE " + pgx.Identifier{AppRole}.Sanitize()
		// Roles belong to the cluster: another process may create it at the same time.
		if _, err := conn.Exec(ctx, stmt); err != nil && !strings.Contains(err.Error(), "already exists") &&
			!strings.Contains(err.Error(), "duplicate key") {
			return "", fmt.Errorf("schema: create login role: %w", err)
		}
	}
	var member bool
	if err := conn.QueryRow(ctx, `SELECT pg_has_role($1, $2, 'MEMBER')`, user, AppRole).Scan(&member); err != nil {
		return "", fmt.Errorf("schema: %w", err)
	}
	if !member {
		if _, err := conn.Exec(ctx, "GRANT "+pgx.Identifier{AppRole}.Sanitize()+" TO "+pgx.Identifier{user}.Sanitize()); err != nil {
			return "", fmt.Errorf("schema: grant %s: %w", AppRole, err)
		}
	}
	u, err := url.Parse(ownerURL)
	if err != nil {
		return "", errors.New("schema: the owner's URL cannot be parsed")
	}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String(), nil
}

// ErrOwnerRole is returned by CheckAppRole for a connection that could rewrite the
// audit log.
var ErrOwnerRole = errors.New("the database role can rewrite the audit log")

// CheckAppRole returns ErrOwnerRole (wrapped, naming the role) when db's role is a
// superuser, a member of the audit log's owner, or has UPDATE, DELETE or TRUNCATE on
// it — any of which lets it cut rows and rewind the chain without the triggers noticing.
func CheckAppRole(ctx context.Context, db Querier) error {
	var role string
	var privileged bool
	err := db.QueryRow(ctx, `
		SELECT current_user::text,
			r.rolsuper OR pg_has_role(current_user, c.relowner, 'MEMBER')
			OR has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE')
		FROM pg_roles r, pg_class c
		WHERE r.rolname = current_user AND c.oid = 'public.audit_event'::regclass`).Scan(&role, &privileged)
	if err != nil {
		return fmt.Errorf("schema: check the database role: %w", err)
	}
	if privileged {
		return fmt.Errorf("%w: DATABASE_URL connects as %q, which owns or may alter the schema; run the server as a login role that is a member of %s (docs/OPERATIONS.md, \"Database roles\"), or set RENRAKU_ALLOW_OWNER_ROLE=true to accept this", ErrOwnerRole, role, AppRole)
	}
	return nil
}
