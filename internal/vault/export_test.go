package vault

import "time"

// SetFileCheckInterval changes how often v checks its keyset file (0: never), so tests
// can show which mechanism picked up a rotation. Call it before sharing v.
func SetFileCheckInterval(v *Vault, d time.Duration) {
	v.checkEvery = d
	v.nextCheck.Store(time.Now().Add(d).UnixNano())
}

// Loads counts how often v has read its keyset file successfully.
func Loads(v *Vault) int {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	return v.loads
}
