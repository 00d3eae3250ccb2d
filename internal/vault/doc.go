// Package vault encrypts renraku's personal fields before they reach SQL, and computes
// the blind indexes by which a few of them are looked up. It uses Google's Tink.
//
// # What is encrypted
//
// Names, relationship, nickname, message bodies, report texts, LINE user IDs, webhook
// payloads, channel secrets and tokens: every column whose name ends in _enc. Each
// ciphertext is AES-256-GCM with associated data naming its table, column and row
// (NewAD), so a ciphertext copied to another row or column does not decrypt.
//
// # Blind indexes
//
// A value that must be found by equality (a LINE userId on every webhook, a
// registration code) is also stored as BlindIndex(domain, value): HMAC-SHA256 under a
// separate PRF key, with a domain string per use so that equal values in two uses do
// not match. Callers normalise values before indexing. The PRF key is never rotated
// (rotating it would need every index recomputed); the audit chain's MAC uses it too.
//
// # Keys
//
// The keyset file (RENRAKU_KEYSET_FILE) lives outside the database and holds two Tink
// keysets, the AEAD keys and the PRF key, each encrypted under a master AEAD: a 32-byte
// master key (RENRAKU_MASTER_KEY, base64) or, in production, a cloud KMS key
// (RENRAKU_KMS_KEY_URI) through Tink's KMS client registry. A database dump therefore
// holds no readable personal data, and neither does the keyset file without the master.
//
// # Rotation without downtime
//
// Rotate adds a new AES-256-GCM key and makes it primary; old keys stay for decryption.
// Every ciphertext names its key (Tink's 5-byte prefix), so an instance that meets a key
// it does not know reloads the keyset file (rate-limited) and retries: instances that
// have not yet noticed a rotation done elsewhere still read new rows. Rewrap then
// re-encrypts old rows in batches, resumably; Retire removes an old key only when no row
// uses it any more.
//
// # Redaction
//
// Plaintext personal values travel as Personal, whose fmt, slog, JSON and text forms
// are "[redacted]"; only Reveal gives the value, so printing one by mistake leaks
// nothing.
package vault
