//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package vault

// dirLock does nothing where flock(2) is missing: there, run one key command at a time.
type dirLock struct{}

func withLock(_ string, fn func(*dirLock) error) error { return fn(&dirLock{}) }

func (*dirLock) sync() {}
