package benchkit

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Server is `renraku serve` running as a child process: the app in a process of its
// own, as it is deployed, so that the bench's simulator and load generator (their
// memory, their garbage collection) are not counted as the app's.
type Server struct {
	cmd *exec.Cmd
}

// ServeConfig is what the child needs: the database, the key set the seeding app
// encrypted with, the address its channels' webhooks point at and the LINE simulator.
type ServeConfig struct {
	Dir, Addr, DatabaseURL, Keyset string
	MasterKey                      []byte
	SimURL                         *url.URL
}

// Serve builds cmd/renraku into c.Dir (the bench runs from the module's root) and
// starts `renraku serve`, returning once /readyz answers 200.
func Serve(ctx context.Context, c ServeConfig) (*Server, error) {
	bin := filepath.Join(c.Dir, "renraku")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/renraku")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build renraku: %w", err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+c.DatabaseURL,
		"RENRAKU_ALLOW_OWNER_ROLE=true",
		"RENRAKU_ADDR="+c.Addr,
		"RENRAKU_METRICS_ADDR=",
		"RENRAKU_BASE_URL=http://"+c.Addr,
		"RENRAKU_KEYSET_FILE="+c.Keyset,
		"RENRAKU_MASTER_KEY="+base64.StdEncoding.EncodeToString(c.MasterKey),
		"RENRAKU_LINE_API_URL="+c.SimURL.String(),
		"RENRAKU_LINE_DATA_API_URL="+c.SimURL.String(),
		"RENRAKU_LOG_LEVEL=error",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{cmd: cmd}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, errors.New("renraku serve did not become ready")
}

// Stop interrupts the server and waits for it to end (killing it after 20 s).
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// status reads a field of the server's /proc status in MB.
func (s *Server) status(field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// HWM is the server's peak RSS since it started, in MB.
func (s *Server) HWM() float64 { return s.status("VmHWM") }

// RSSSampler samples the server's VmRSS.
type RSSSampler struct {
	stopc chan struct{}
	done  chan float64
}

// SampleRSS samples the server's VmRSS every 50 ms until Stop, which returns the
// largest.
func (s *Server) SampleRSS() *RSSSampler {
	r := &RSSSampler{stopc: make(chan struct{}), done: make(chan float64, 1)}
	go func() {
		peak := 0.0
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, s.status("VmRSS"))
			select {
			case <-r.stopc:
				r.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// Stop ends the sampling and returns the largest VmRSS seen, in MB.
func (r *RSSSampler) Stop() float64 { close(r.stopc); return <-r.done }
