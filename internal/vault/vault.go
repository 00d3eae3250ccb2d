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
// for concurrent use and picks up keyset changes made by other instances.
type Vault struct {
	path   string
	master Master
	cur    atomic.Pointer[primitives]

	reloadMu   sync.Mutex
	lastReload time.Time // last reload caused by an unknown key ID
	stamp      fileStamp
}

// primitives are the usable forms of one version of the keyset.
type primitives struct {
	aead    tink.AEAD
	prf     *prf.Set
	primary uint32
	keyIDs  map[uint32]bool
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// minReloadInterval rate-limits reloads triggered by unknown key IDs, so garbage
// ciphertexts cannot make every request read the file.
const minReloadInterval = time.Second

// Open reads the keyset file and unlocks it with m.
func Open(path string, m Master) (*Vault, error) {
	v := &Vault{path: path, master: m}
	if err := v.load(); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Vault) load() error {
	st, _ := os.Stat(v.path)
	k, err := readKeys(v.path, v.master)
	if err != nil {
		return err
	}
	a, err := aead.New(k.aead)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	p, err := prf.NewPRFSet(k.prf)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	info := k.aead.KeysetInfo()
	ids := map[uint32]bool{}
	for _, ki := range info.GetKeyInfo() {
		ids[ki.GetKeyId()] = true
	}
	v.cur.Store(&primitives{aead: a, prf: p, primary: info.GetPrimaryKeyId(), keyIDs: ids})
	if st != nil {
		v.stamp = fileStamp{mod: st.ModTime(), size: st.Size()}
	}
	return nil
}

// Reload reads the keyset file again.
func (v *Vault) Reload() error {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	return v.load()
}

// ReloadIfChanged reloads when the file's modification time or size changed; cheap
// enough to call periodically.
func (v *Vault) ReloadIfChanged() (bool, error) {
	st, err := os.Stat(v.path)
	if err != nil {
		return false, fmt.Errorf("vault: %w", err)
	}
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	if st.ModTime().Equal(v.stamp.mod) && st.Size() == v.stamp.size {
		return false, nil
	}
	return true, v.load()
}

// reloadForKey reloads (at most once per interval) when a ciphertext names a key this
// instance does not have, as after a rotation done by another instance.
func (v *Vault) reloadForKey(id uint32) *primitives {
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	if p := v.cur.Load(); p.keyIDs[id] {
		return p // another goroutine reloaded meanwhile
	}
	if time.Since(v.lastReload) >= minReloadInterval {
		v.lastReload = time.Now()
		_ = v.load()
	}
	return v.cur.Load()
}

// PrimaryKeyID is the ID of the key new ciphertexts use.
func (v *Vault) PrimaryKeyID() uint32 { return v.cur.Load().primary }

// tinkPrefixLen is Tink's output prefix: a version byte (1) and the 4-byte key ID.
const tinkPrefixLen = 5

// KeyIDOf returns the ID of the key that made a ciphertext.
func KeyIDOf(ct []byte) (uint32, error) {
	if len(ct) < tinkPrefixLen || ct[0] != 1 {
		return 0, fmt.Errorf("%w: not a Tink ciphertext", ErrDecrypt)
	}
	return binary.BigEndian.Uint32(ct[1:5]), nil
}

// KeyIDBytes is a key ID as it appears in ciphertexts (bytes 2–5), for SQL.
func KeyIDBytes(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

// EncryptBytes encrypts b for its place ad.
func (v *Vault) EncryptBytes(b []byte, ad AD) ([]byte, error) {
	ct, err := v.cur.Load().aead.Encrypt(b, ad.bytes())
	if err != nil {
		return nil, fmt.Errorf("vault: encrypt %s.%s: %w", ad.table, ad.column, err)
	}
	return ct, nil
}

// DecryptBytes decrypts a ciphertext made for ad. A ciphertext from another place, a
// tampered one or one whose key is gone gives ErrDecrypt, never garbage.
func (v *Vault) DecryptBytes(ct []byte, ad AD) ([]byte, error) {
	id, err := KeyIDOf(ct)
	if err != nil {
		return nil, fmt.Errorf("%w %s.%s: malformed", ErrDecrypt, ad.table, ad.column)
	}
	p := v.cur.Load()
	if !p.keyIDs[id] {
		p = v.reloadForKey(id)
		if !p.keyIDs[id] {
			return nil, fmt.Errorf("%w %s.%s: key %d is not in the keyset", ErrDecrypt, ad.table, ad.column, id)
		}
	}
	b, err := p.aead.Decrypt(ct, ad.bytes())
	if err != nil {
		return nil, fmt.Errorf("%w %s.%s: authentication failed (tampered, or from another row or column)", ErrDecrypt, ad.table, ad.column)
	}
	return b, nil
}

// EncryptPersonal encrypts a personal value for its place ad.
func (v *Vault) EncryptPersonal(p Personal, ad AD) ([]byte, error) {
	return v.EncryptBytes([]byte(p), ad)
}

// DecryptPersonal decrypts a personal value made for ad.
func (v *Vault) DecryptPersonal(ct []byte, ad AD) (Personal, error) {
	b, err := v.DecryptBytes(ct, ad)
	if err != nil {
		return "", err
	}
	return Personal(b), nil
}

// BlindIndexLen is the length of a blind index.
const BlindIndexLen = 32

// BlindIndex returns the keyed PRF of value in domain. Equal (domain, value) pairs give
// equal indexes; nothing about value can be learnt from the index without the key.
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
		return nil, fmt.Errorf("vault: blind index: %w", err)
	}
	return out, nil
}
