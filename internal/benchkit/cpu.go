package benchkit

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CPUTimes is the CPU time used so far by the bench's own process, by the server
// child (zero without one) and by PostgreSQL: the postmaster and every process it
// runs, those that have ended included (a parent's reaped children are counted in its
// own figures).
type CPUTimes struct {
	Self, Server, PG time.Duration
}

// clockTick is USER_HZ, 100 on Linux: the unit of /proc/<pid>/stat's times.
const clockTick = 10 * time.Millisecond

// CPU reads the CPU times now; pool is a connection to the database the figures are
// for, srv the server child or nil.
func CPU(ctx context.Context, pool *pgxpool.Pool, srv *Server) CPUTimes {
	var c CPUTimes
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.Self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if srv != nil {
		if st, ok := procStat(srv.cmd.Process.Pid); ok {
			c.Server = st.own
		}
	}
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return c
	}
	st, ok := procStat(backend)
	if !ok {
		return c
	}
	pm, ok := procStat(st.ppid)
	if !ok {
		return c
	}
	c.PG = pm.own + pm.children
	dir, err := os.ReadDir("/proc")
	if err != nil {
		return c
	}
	for _, e := range dir {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, ok := procStat(pid); ok && s.ppid == st.ppid {
			c.PG += s.own
		}
	}
	return c
}

// Since returns the CPU times used from c0 to c.
func (c CPUTimes) Since(c0 CPUTimes) CPUTimes {
	return CPUTimes{Self: c.Self - c0.Self, Server: c.Server - c0.Server, PG: c.PG - c0.PG}
}

// PerOp formats the times per operation in ms: "bench / server / PostgreSQL".
func (c CPUTimes) PerOp(n int) string {
	if n == 0 {
		return "–"
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	return fmt.Sprintf("%.2f / %.2f / %.2f", ms(c.Self), ms(c.Server), ms(c.PG))
}

type stat struct {
	ppid          int
	own, children time.Duration
}

// procStat reads a process's parent and CPU times (its own, and its reaped
// children's) from /proc/<pid>/stat.
func procStat(pid int) (stat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, false
	}
	// The fields after the command's closing parenthesis: state is the 3rd of the
	// whole line, ppid the 4th, utime, stime, cutime and cstime the 14th to 17th.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return stat{}, false
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	return stat{ppid: int(n(1)), own: time.Duration(n(11)+n(12)) * clockTick, children: time.Duration(n(13)+n(14)) * clockTick}, true
}
