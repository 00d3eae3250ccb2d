package vault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Vault encrypts and decrypts personal fields and computes blind indexes. It is safe
// for concurrent use. It follows the keyset file: every FileCheckInterval an Encrypt or
// Decrypt checks the file's identity, time and size and reloads it if it changed, and
// a ciphertext under a key it does not have makes it reload at once (rate-limited), so
// a rotation done by another instance is picked up without a restart.
type Vault struct {
	path   string
	master Master
	cur    atomic.Pointer[primitives]

	checkEvery time.Duration
	nextCheck  atomic.Int64 // UnixNano after which the next call checks the file

	reloadMu   sync.Mutex // serialises loads; guards the fields below
	lastForced time.Time  // last load caused by an unknown key ID
	stamp      os.FileInfo
	loads      int // successful loads, for tests
}

// primitives are the usable forms of one version of the keyset. They are replaced
// whole, never changed, so a reader holding one needs no lock.
type primitives struct {
	aead    tink.AEAD
	prf     *prf.Set
	primary uint32
	keyIDs  map[uint32]bool
}

func newPrimitives(k keys) (*primitives, error) {
	a, err := aead.New(k.aead)
	if err != nil {
		return nil, fmt.Errorf("AEAD keyset unusable: %v", err)
	}
	p, err := prf.NewPRFSet(k.prf)
	if err != nil {
		return nil, fmt.Errorf("PRF keyset unusable: %v", err)
	}
	infos, err := keyInfos(k.aead)
	if err != nil {
		return nil, err
	}
	prim := &primitives{aead: a, prf: p, keyIDs: map[uint32]bool{}}
	for _, ki := range infos {
		prim.keyIDs[ki.ID] = true
		if ki.Primary {
			prim.primary = ki.ID
		}
	}
	return prim, nil
}

// FileCheckInterval is how often a Vault checks whether its keyset file changed. It
// bounds how long an instance keeps encrypting under the previous primary key after a
// rotation elsewhere; Retire relies on that being short.
const FileCheckInterval = 10 * time.Second

// minForcedReload rate-limits reloads caused by unknown key IDs when the file looks
// unchanged, so a flood of garbage ciphertexts cannot make every request read it.
const minForcedReload = time.Second

// Open reads the keyset file and unlocks it with m. It fails with ErrKeysetMissing,
// ErrKeysetCorrupt, ErrKeysetVersion, ErrMasterKey or ErrNoMaster, each naming the
// setting to fix; the server must not start without a Vault.
func Open(path string, m Master) (*Vault, error) {
	v := &Vault{path: path, master: m, checkEvery: FileCheckInterval}
	if err := v.load(); err != nil {
		return nil, err
	}
	v.nextCheck.Store(time.Now().Add(v.checkEvery).UnixNano())
	return v, nil
}

// load reads the file and swaps in its primitives. The caller holds reloadMu (or is
// Open). On failure the previous keys stay in use: a bad file never stops reads.
func (v *Vault) load() error {
	st, statErr := os.Stat(v.path)
	k, err := readKeys(v.path, v.master)
	if err != nil {
		return err
	}
	p, err := newPrimitives(k)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrKeysetCorrupt, v.path, err)
	}
	v.cur.Store(p)
	v.loads++
	if statErr == nil {
		// Taken before the read: if the file changed in between, the next check
		// reloads once more, which is harmless.
		v.stamp = st
	}
	return nil
}

// Reload reads the keyset file again. On error the keys loaded before stay in use.
func (v *Vault) Reload() error {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	return v.load()
}

// ReloadIfChanged reloads when the file was replaced or its modification time or size
// changed, and reports whether it did. It costs one stat when nothing changed, so it
// may run often; a Vault also calls it by itself every FileCheckInterval.
func (v *Vault) ReloadIfChanged() (bool, error) {
	st, err := os.Stat(v.path)
	if err != nil {
		return false, fmt.Errorf("vault: keyset file (RENRAKU_KEYSET_FILE): %w", err)
	}
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	if !v.changed(st) {
		return false, nil
	}
	if err := v.load(); err != nil {
		return false, err
	}
	return true, nil
}

// changed compares st with the file last loaded. The caller holds reloadMu.
func (v *Vault) changed(st os.FileInfo) bool {
	return v.stamp == nil || !os.SameFile(v.stamp, st) || !st.ModTime().Equal(v.stamp.ModTime()) || st.Size() != v.stamp.Size()
}

// current returns the primitives to use, first checking the file if it is time to.
// One caller per interval wins the compare-and-swap and pays for the stat; errors
// are left for ReloadIfChanged's callers to see, and the loaded keys stay in use.
func (v *Vault) current() *primitives {
	if v.checkEvery > 0 {
		now := time.Now().UnixNano()
		next := v.nextCheck.Load()
		if now >= next && v.nextCheck.CompareAndSwap(next, now+int64(v.checkEvery)) {
			_, _ = v.ReloadIfChanged()
		}
	}
	return v.cur.Load()
}

// reloadForKey is called when a ciphertext names a key this instance does not have,
// as after a rotation done by another instance: it reloads at once if the file
// changed, and otherwise at most once per minForcedReload.
func (v *Vault) reloadForKey(id uint32) *primitives {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	if p := v.cur.Load(); p.keyIDs[id] {
		return p // another goroutine reloaded meanwhile
	}
	st, err := os.Stat(v.path)
	if err != nil {
		return v.cur.Load()
	}
	if v.changed(st) || time.Since(v.lastForced) >= minForcedReload {
		v.lastForced = time.Now()
		_ = v.load()
	}
	return v.cur.Load()
}

// PrimaryKeyID is the ID of the key new ciphertexts use.
func (v *Vault) PrimaryKeyID() uint32 { return v.current().primary }

// tinkPrefixLen is Tink's output prefix: a version byte (1) and the 4-byte key ID.
const tinkPrefixLen = 5

// KeyIDOf returns the ID of the key that made a ciphertext, read from Tink's output
// prefix. A ciphertext too short or without the prefix gives ErrDecrypt.
func KeyIDOf(ct []byte) (uint32, error) {
	if len(ct) < tinkPrefixLen || ct[0] != 1 {
		return 0, fmt.Errorf("%w: not a Tink ciphertext", ErrDecrypt)
	}
	return binary.BigEndian.Uint32(ct[1:tinkPrefixLen]), nil
}

// KeyIDBytes is a key ID as it appears in ciphertexts (bytes 2–5), for comparing
// with substring(col from 2 for 4) in SQL.
func KeyIDBytes(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

// EncryptBytes encrypts b (a document, an image, a JSON payload) for its place ad,
// under the primary key. Empty and nil b encrypt like any value, and decrypt to an
// empty slice.
func (v *Vault) EncryptBytes(b []byte, ad AD) ([]byte, error) {
	if err := ad.valid(); err != nil {
		return nil, err
	}
	ct, err := v.current().aead.Encrypt(b, ad.bytes())
	if err != nil {
		return nil, fmt.Errorf("vault: encrypt %s.%s: %w", ad.table, ad.column, err)
	}
	return ct, nil
}

// DecryptBytes decrypts a ciphertext made for ad. A ciphertext from another place, a
// tampered or truncated one, or one whose key has been retired gives an error wrapping
// ErrDecrypt that names the table and column, never garbage and never the value. A nil
// ciphertext is an error too: a NULL column is the caller's to handle before calling.
func (v *Vault) DecryptBytes(ct []byte, ad AD) ([]byte, error) {
	if err := ad.valid(); err != nil {
		return nil, err
	}
	id, err := KeyIDOf(ct)
	if err != nil {
		return nil, fmt.Errorf("%w %s.%s: not a vault ciphertext (%d bytes)", ErrDecrypt, ad.table, ad.column, len(ct))
	}
	p := v.current()
	if !p.keyIDs[id] {
		p = v.reloadForKey(id)
		if !p.keyIDs[id] {
			return nil, fmt.Errorf("%w %s.%s: key %d is not in the keyset (retired, or another keyset file)", ErrDecrypt, ad.table, ad.column, id)
		}
	}
	b, err := p.aead.Decrypt(ct, ad.bytes())
	if err != nil {
		return nil, fmt.Errorf("%w %s.%s: authentication failed (tampered, or moved from another row or column)", ErrDecrypt, ad.table, ad.column)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// EncryptPersonal encrypts a personal value for its place ad. An empty value is
// encrypted too, so an empty field looks like any other in a dump.
func (v *Vault) EncryptPersonal(p Personal, ad AD) ([]byte, error) {
	return v.EncryptBytes([]byte(p), ad)
}

// DecryptPersonal decrypts a personal value made for ad; see DecryptBytes for errors.
func (v *Vault) DecryptPersonal(ct []byte, ad AD) (Personal, error) {
	b, err := v.DecryptBytes(ct, ad)
	if err != nil {
		return "", err
	}
	return Personal(b), nil
}

// BlindIndexLen is the length of a blind index in bytes.
const BlindIndexLen = 32

// BlindIndex returns the keyed PRF (HMAC-SHA256, under the keyset's PRF key) of value
// in domain, for finding a row by a value that is stored encrypted. Equal (domain,
// value) pairs give equal indexes, across instances and restarts; without the key the
// index reveals nothing about the value, and the same value in two domains gives
// unrelated indexes. Domain and value are length-prefixed, so no pair collides with
// another by moving bytes between them.
//
// BlindIndex normalises nothing: "U1" and "u1 " are different values. A caller that
// wants case- or space-insensitive lookups normalises before indexing, and does it the
// same way when writing and when looking up. An empty domain is an error.
func (v *Vault) BlindIndex(domain, value string) ([]byte, error) {
	if domain == "" {
		return nil, errors.New("vault: blind index needs a domain")
	}
	in := make([]byte, 0, 8+len(domain)+len(value))
	in = binary.BigEndian.AppendUint32(in, uint32(len(domain)))
	in = append(in, domain...)
	in = binary.BigEndian.AppendUint32(in, uint32(len(value)))
	in = append(in, value...)
	out, err := v.cur.Load().prf.ComputePrimaryPRF(in, BlindIndexLen)
	if err != nil {
		return nil, fmt.Errorf("vault: blind index %s: %w", domain, err)
	}
	return out, nil
}
