package vault

import "errors"

// Errors from opening and managing a keyset. Each says what to fix and names the
// setting involved; none repeats a key. Callers tell them apart with errors.Is.
var (
	// ErrKeysetMissing means RENRAKU_KEYSET_FILE names no file.
	ErrKeysetMissing = errors.New("vault: keyset file not found (RENRAKU_KEYSET_FILE; create one with `renraku keys generate --out FILE`)")
	// ErrKeysetCorrupt means the file is there but is not an intact renraku keyset.
	ErrKeysetCorrupt = errors.New("vault: keyset file is damaged or not a renraku keyset (RENRAKU_KEYSET_FILE; restore it from its backup)")
	// ErrKeysetVersion means the file was written by a newer renraku.
	ErrKeysetVersion = errors.New("vault: keyset file has a format version this renraku does not know (RENRAKU_KEYSET_FILE; upgrade renraku)")
	// ErrMasterKey means the master key is well formed but does not unlock this
	// keyset: another deployment's key, or the keyset was re-encrypted.
	ErrMasterKey = errors.New("vault: the master key does not unlock this keyset (wrong RENRAKU_MASTER_KEY or RENRAKU_KMS_KEY_URI for RENRAKU_KEYSET_FILE?)")
	// ErrMasterKeyFormat means RENRAKU_MASTER_KEY is not base64 of 32 bytes.
	ErrMasterKeyFormat = errors.New("vault: RENRAKU_MASTER_KEY must be standard base64 of 32 random bytes")
	// ErrNoMaster means a zero Master was passed: no key was configured.
	ErrNoMaster = errors.New("vault: no master key (set RENRAKU_MASTER_KEY or RENRAKU_KMS_KEY_URI)")
	// ErrNoKMSClient means no Tink KMS client is registered for the URI's scheme:
	// the binary was built without that cloud's module.
	ErrNoKMSClient = errors.New("vault: no KMS client registered for")
	// ErrKeysetExists means Generate found a file in the way; overwriting a keyset
	// would lose the keys the database's data needs.
	ErrKeysetExists = errors.New("vault: keyset file already exists; refusing to overwrite it")
	// ErrDecrypt means a ciphertext did not decrypt for the place it was read from
	// (moved, tampered, truncated, or under a retired key). It is wrapped with the
	// table and column, never the value or the row.
	ErrDecrypt = errors.New("vault: cannot decrypt")
	// ErrKeyInUse means Retire was asked to remove a key that still encrypts rows.
	ErrKeyInUse = errors.New("vault: key still encrypts rows; let re-encryption finish (renraku keys status)")
)
