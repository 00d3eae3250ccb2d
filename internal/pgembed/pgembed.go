// Package pgembed starts a project-local PostgreSQL server from the system's PostgreSQL
// binaries, for the dev mode and the test suite when no DATABASE_URL is given.
//
// The server listens only on a private unix socket (a fresh 0700 folder), so nothing else
// on the machine can reach it. initdb refuses to run as root, so when invoked as root the
// cluster is created and run as the "postgres" system user that Debian's package makes.
// The server is started directly (not through pg_ctl) as a child that receives SIGINT
// (fast shutdown) if this process dies, so no server outlives its owner.
package pgembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configures Start.
type Options struct {
	// Dir holds the cluster ("data") and the server log. It is created if missing.
	Dir string
	// Database is created if missing and named in the returned URL. Default "renraku".
	Database string
	// Throwaway trades durability for speed (fsync off); use it for test clusters.
	Throwaway bool
	// StartTimeout bounds how long the server may take to accept connections.
	StartTimeout time.Duration
	// Settings are more name=value server settings, given after the defaults (for
	// measuring: shared_preload_libraries=pg_stat_statements, say).
	Settings []string
}

// Cluster is a running local PostgreSQL server.
type Cluster struct {
	// URL connects to Options.Database as the cluster's superuser.
	URL string
	// AdminURL connects to the "postgres" maintenance database.
	AdminURL string
	// SocketDir is the private folder that holds the server's unix socket.
	SocketDir string
	// BinDir is where the PostgreSQL binaries were found (pg_dump lives there too).
	BinDir string

	// args, cred and logPath start the server again after Halt (Restart).
	args    []string
	cred    *syscall.Credential
	logPath string
	timeout time.Duration

	mu       sync.Mutex // guards cmd, done and waitErr, which Restart replaces
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// superuser is the role initdb creates; the name says whose cluster it is.
const superuser = "renraku"

// ErrNoBinaries is returned when no PostgreSQL server binaries are installed.
var ErrNoBinaries = errors.New("pgembed: PostgreSQL server binaries not found (Debian: apt-get install postgresql; or set RENRAKU_PG_BIN to the folder holding initdb and postgres)")

// FindBinDir returns the folder holding initdb and postgres: RENRAKU_PG_BIN if set, else
// the newest /usr/lib/postgresql/*/bin, else the folder of initdb on PATH.
func FindBinDir() (string, error) {
	if d := os.Getenv("RENRAKU_PG_BIN"); d != "" {
		if isFile(filepath.Join(d, "postgres")) && isFile(filepath.Join(d, "initdb")) {
			return d, nil
		}
		return "", fmt.Errorf("pgembed: RENRAKU_PG_BIN=%s holds no initdb and postgres", d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "postgres")) && isFile(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			d := filepath.Dir(real)
			if isFile(filepath.Join(d, "postgres")) {
				return d, nil
			}
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// runAs says which user the server runs as: nil for the current user, or the
// credentials of "postgres" when running as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("pgembed: running as root, and PostgreSQL refuses root: need the 'postgres' system user (Debian's postgresql package creates it), or run as a normal user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Start initialises the cluster in opts.Dir if needed and starts the server. The server
// stops when Stop is called or when this process exits.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Database == "" {
		opts.Database = "renraku"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	binDir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	// Parents stay enterable (the server may run as another user); the cluster folder
	// itself is private to the server's user.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	if cred != nil {
		if err := checkTraversable(dir); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgembed: %w", err)
		}
	}
	if !isFile(filepath.Join(dataDir, "PG_VERSION")) {
		if err := initdb(ctx, binDir, dataDir, cred); err != nil {
			return nil, err
		}
	}

	socketDir, err := os.MkdirTemp("", "renraku-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	if cred != nil {
		if err := os.Chown(socketDir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgembed: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	args := []string{
		"-D", dataDir,
		"-k", socketDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		"-c", "unix_socket_permissions=0700",
		"-c", "max_connections=200",
		"-c", "shared_buffers=128MB",
	}
	if opts.Throwaway {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, kv := range opts.Settings {
		args = append(args, "-c", kv)
	}
	c := &Cluster{
		SocketDir: socketDir,
		BinDir:    binDir,
		URL:       socketURL(socketDir, port, opts.Database),
		AdminURL:  socketURL(socketDir, port, "postgres"),
		args:      args,
		cred:      cred,
		logPath:   logPath,
		timeout:   opts.StartTimeout,
	}
	if err := c.run(); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, c.timeout); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.ensureDatabase(ctx, opts.Database); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// run starts the server process in the background.
func (c *Cluster) run() error {
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if c.cred != nil {
		_ = os.Chown(c.logPath, int(c.cred.Uid), int(c.cred.Gid))
	}
	cmd := exec.Command(filepath.Join(c.BinDir, "postgres"), c.args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Own process group: a Ctrl-C in the terminal reaches us, and we stop the server in
	// order; Pdeathsig stops it even if we are killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT, Credential: c.cred}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("pgembed: start postgres: %w", err)
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.done, c.waitErr = cmd, done, nil
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		close(done)
	}()
	return nil
}

func socketURL(socketDir string, port int, db string) string {
	q := url.Values{"host": {socketDir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}
	return "postgres://" + superuser + "@/" + db + "?" + q.Encode()
}

func initdb(ctx context.Context, binDir, dataDir string, cred *syscall.Credential) error {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", dataDir, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = os.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgembed: initdb failed: %w\n%s", err, tail(out.String(), 20))
	}
	return nil
}

// checkTraversable makes sure the postgres user can reach dir, which it cannot when a
// parent folder (such as /root) is closed to others.
func checkTraversable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgembed: the postgres user cannot enter %s (mode %v); move the project or set RENRAKU_DATA_DIR to a folder under /tmp or /var", d, fi.Mode().Perm())
		}
		if d == "/" {
			return nil
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgembed: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	done := c.Done()
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(c.logPath)
			c.mu.Lock()
			waitErr := c.waitErr
			c.mu.Unlock()
			return fmt.Errorf("pgembed: postgres exited during start-up: %v\n%s", waitErr, tail(string(log), 20))
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, c.AdminURL)
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgembed: postgres not ready after %v: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) ensureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pgembed: create database: %w", err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: sessions are ended, data is flushed) and
// waits for it to exit. It is safe to call more than once; the cluster cannot be
// restarted after it.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		_ = c.Halt(Fast)
		_ = os.RemoveAll(c.SocketDir)
	})
	return nil
}

// ShutdownMode is how Halt stops the server (PostgreSQL's shutdown modes).
type ShutdownMode syscall.Signal

// The shutdown modes: Fast ends sessions and flushes data; Immediate stops every
// process at once, as a crash would, and the next start recovers from the WAL.
const (
	Fast      = ShutdownMode(syscall.SIGINT)
	Immediate = ShutdownMode(syscall.SIGQUIT)
)

// Halt stops the server in mode and waits for it to exit, keeping the cluster and its
// address, so Restart can bring it back where clients expect it (an outage drill).
func (c *Cluster) Halt(mode ShutdownMode) error {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.Signal(mode))
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Restart starts a halted server again on the same socket and port, and returns once
// it accepts connections.
func (c *Cluster) Restart(ctx context.Context) error {
	select {
	case <-c.Done():
	default:
		return errors.New("pgembed: restart: the server is still running")
	}
	if err := c.run(); err != nil {
		return err
	}
	return c.waitReady(ctx, c.timeout)
}

// Done is closed when the server process has exited.
func (c *Cluster) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
