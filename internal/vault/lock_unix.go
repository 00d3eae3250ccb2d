//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package vault

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// dirLock is an exclusive flock(2) on the keyset file's folder. It serialises
// read-modify-write of the keyset (Generate, Rotate, Retire) between processes and
// goroutines, so a rotation can never drop a key another rotation just added (rows
// encrypted under that key would be lost). The folder, not the file, is locked
// because the file is replaced by rename and a lock on it would not outlive that.
type dirLock struct{ f *os.File }

func withLock(path string, fn func(*dirLock) error) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("vault: keyset folder: %w", err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("vault: lock keyset folder: %w", err)
	}
	defer func() { _ = syscall.Flock(int(d.Fd()), syscall.LOCK_UN) }()
	return fn(&dirLock{f: d})
}

// sync makes a rename in the folder durable. Failure is ignored: the rename itself
// succeeded, and some file systems do not support syncing a folder.
func (l *dirLock) sync() { _ = l.f.Sync() }
