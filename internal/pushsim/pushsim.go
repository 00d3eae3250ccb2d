// Package pushsim stands in for a browser vendor's push service and the browser behind
// it, for tests of renraku's Web Push (it is test support: `serve` never uses it).
//
// Subscribe plays the browser: it makes a subscription as PushManager.subscribe does —
// a P-256 key pair and a 16-byte auth secret, and an endpoint URL on the simulator's
// server. A push to that endpoint is checked as a push service checks it (RFC 8030 and
// RFC 8292): the TTL header, and the VAPID token in "Authorization: vapid t=…, k=…" —
// ES256 signature by the key k, audience the endpoint's origin, expiry in the future and
// at most 24 hours ahead, a subject. The browser's part follows: the body is decrypted
// as RFC 8291 says (aes128gcm content coding, RFC 8188), with the subscription's private
// key and auth secret, and the plaintext is recorded. The answer is 201, or what the
// test asked for with Answer: 404 or 410 (the subscription is gone), 429 with
// Retry-After, 5xx.
//
// Decryption is written here rather than taken from a library because libraries only
// encrypt: the receiving side is the browser's.
package pushsim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/hkdf"
)

// Subscription is what a browser hands the page: PushSubscription.toJSON().
type Subscription struct {
	Endpoint string
	P256dh   string // the browser's public key, uncompressed, base64url
	Auth     string // the auth secret, base64url
}

// Push is one delivered message as the browser received it.
type Push struct {
	Plaintext []byte
	Topic     string
	Urgency   string
	TTL       int
	// VAPIDKey is the application server's public key (k), Subject its "sub" claim.
	VAPIDKey string
	Subject  string
	// At is when the service accepted it (its clock).
	At time.Time
}

// Reply is a status the push service answers one push with instead of 201.
type Reply struct {
	Status     int
	RetryAfter string
}

type subscription struct {
	key     *ecdh.PrivateKey
	auth    []byte
	replies []Reply
	gone    bool
	pushes  []Push
}

// Server is the simulated push service.
type Server struct {
	srv *httptest.Server
	// Now is the service's clock for token expiry (nil: time.Now).
	Now func() time.Time

	mu       sync.Mutex
	subs     map[string]*subscription
	rejected []string
	changed  chan struct{}
}

// New starts a push service; Close stops it.
func New() *Server {
	s := &Server{subs: map[string]*subscription{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /push/{id}", s.push)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the service's origin.
func (s *Server) URL() string { return s.srv.URL }

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Subscribe makes a subscription as a browser does.
func (s *Server) Subscribe() Subscription {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	name := base64.RawURLEncoding.EncodeToString(id)
	s.mu.Lock()
	s.subs[name] = &subscription{key: key, auth: auth}
	s.mu.Unlock()
	return Subscription{Endpoint: s.srv.URL + "/push/" + name, P256dh: base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Auth: base64.RawURLEncoding.EncodeToString(auth)}
}

func (s *Server) find(endpoint string) *subscription {
	i := strings.LastIndex(endpoint, "/")
	return s.subs[endpoint[i+1:]]
}

// Answer queues replies for the next pushes to endpoint; after them it answers 201.
// A 404 or 410 also ends the subscription: later pushes get 410.
func (s *Server) Answer(endpoint string, replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.find(endpoint)
	sub.replies = append(sub.replies, replies...)
}

// Pushes returns what reached endpoint's browser so far.
func (s *Server) Pushes(endpoint string) []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.find(endpoint).pushes...)
}

// Queued counts the replies Answer queued for endpoint that no push has used yet.
func (s *Server) Queued(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.find(endpoint).replies)
}

// Rejected lists the pushes the service refused (bad token, bad encryption), with why.
func (s *Server) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

// Changed returns a channel closed at the next push the service receives, for waiting
// on a condition without sleeping.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer func() {
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	sub := s.subs[r.PathValue("id")]
	if sub == nil || sub.gone {
		http.Error(w, "no such subscription", http.StatusGone)
		return
	}
	reject := func(status int, why string) {
		s.rejected = append(s.rejected, why)
		http.Error(w, why, status)
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		reject(http.StatusBadRequest, "TTL header missing")
		return
	}
	key, subject, err := s.checkVAPID(r.Header.Get("Authorization"))
	if err != nil {
		reject(http.StatusUnauthorized, err.Error())
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		reject(http.StatusUnsupportedMediaType, "content encoding is not aes128gcm")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err != nil || len(body) > 4096 {
		reject(http.StatusRequestEntityTooLarge, "payload over 4096 bytes")
		return
	}
	plain, err := Decrypt(body, sub.key, sub.auth)
	if err != nil {
		reject(http.StatusBadRequest, err.Error())
		return
	}
	if len(sub.replies) > 0 {
		rep := sub.replies[0]
		sub.replies = sub.replies[1:]
		if rep.Status == http.StatusNotFound || rep.Status == http.StatusGone {
			sub.gone = true
		}
		if rep.RetryAfter != "" {
			w.Header().Set("Retry-After", rep.RetryAfter)
		}
		w.WriteHeader(rep.Status)
		return
	}
	sub.pushes = append(sub.pushes, Push{Plaintext: plain, Topic: r.Header.Get("Topic"), Urgency: r.Header.Get("Urgency"), TTL: ttl,
		VAPIDKey: key, Subject: subject, At: s.now()})
	w.Header().Set("Location", r.URL.Path+"/message/"+strconv.Itoa(len(sub.pushes)))
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=JWT, k=KEY" (RFC 8292) and returns k and the subject.
func (s *Server) checkVAPID(h string) (string, string, error) {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return "", "", errors.New("authorization is not vapid")
	}
	var token, key string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			token = v
		case "k":
			key = v
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return "", "", errors.New("vapid k is not base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return "", "", errors.New("vapid k is not a P-256 key")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", errors.New("vapid t is not a JWT")
	}
	var head struct{ Alg string }
	var claims struct {
		Aud string
		Exp int64
		Sub string
	}
	if err := decodePart(parts[0], &head); err != nil || head.Alg != "ES256" {
		return "", "", errors.New("JWT header is not ES256")
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return "", "", errors.New("JWT claims do not parse")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", "", errors.New("JWT signature is not 64 bytes")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", "", errors.New("JWT signature does not verify with k")
	}
	origin, _ := url.Parse(s.srv.URL)
	if claims.Aud != origin.Scheme+"://"+origin.Host {
		return "", "", fmt.Errorf("JWT audience %q is not the push service's origin", claims.Aud)
	}
	exp, now := time.Unix(claims.Exp, 0), s.now()
	if !exp.After(now) || exp.After(now.Add(24*time.Hour)) {
		return "", "", errors.New("JWT expiry is not within the next 24 hours")
	}
	if claims.Sub == "" {
		return "", "", errors.New("JWT has no subject")
	}
	return key, claims.Sub, nil
}

func decodePart(p string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Decrypt opens an aes128gcm message (RFC 8188) encrypted for a Web Push subscription
// (RFC 8291) with the subscription's private key and auth secret.
//
// The body starts with a header: salt (16 bytes), record size (4), key ID length (1)
// and the key ID, which for Web Push is the sender's one-time public key. The keys:
//
//	ecdh   = ECDH(subscription private key, sender public key)
//	ikm    = HKDF(salt=auth, ikm=ecdh, info="WebPush: info\x00"‖ua_public‖as_public, 32)
//	cek    = HKDF(salt=salt, ikm=ikm, info="Content-Encoding: aes128gcm\x00", 16)
//	nonce  = HKDF(salt=salt, ikm=ikm, info="Content-Encoding: nonce\x00", 12)
//
// Each record is AES-128-GCM with the nonce XORed with its sequence number; its
// plaintext ends with a delimiter (2 in the last record, 1 before) and zero padding.
func Decrypt(body []byte, key *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("aes128gcm: body shorter than its header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || rs < 18 {
		return nil, errors.New("aes128gcm: bad header")
	}
	senderRaw, records := body[21:21+idlen], body[21+idlen:]
	sender, err := ecdh.P256().NewPublicKey(senderRaw)
	if err != nil {
		return nil, errors.New("aes128gcm: key ID is not the sender's P-256 key")
	}
	shared, err := key.ECDH(sender)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), key.PublicKey().Bytes()...), senderRaw...)
	ikm := expand(hkdf.New(sha256.New, shared, auth, info), 32)
	cek := expand(hkdf.New(sha256.New, ikm, salt, []byte("Content-Encoding: aes128gcm\x00")), 16)
	nonce := expand(hkdf.New(sha256.New, ikm, salt, []byte("Content-Encoding: nonce\x00")), 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	var out []byte
	for seq := uint64(0); len(records) > 0; seq++ {
		n := min(int(rs), len(records))
		rec := records[:n]
		records = records[n:]
		iv := bytes.Clone(nonce)
		for i := 0; i < 8; i++ {
			iv[11-i] ^= byte(seq >> (8 * i))
		}
		plain, err := gcm.Open(nil, iv, rec, nil)
		if err != nil {
			return nil, errors.New("aes128gcm: record does not decrypt with the subscription's keys")
		}
		plain = bytes.TrimRight(plain, "\x00")
		if len(plain) == 0 {
			return nil, errors.New("aes128gcm: record without delimiter")
		}
		last := len(records) == 0
		if d := plain[len(plain)-1]; (last && d != 2) || (!last && d != 1) {
			return nil, errors.New("aes128gcm: wrong record delimiter")
		}
		out = append(out, plain[:len(plain)-1]...)
	}
	return out, nil
}

func expand(r io.Reader, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		panic(err)
	}
	return b
}
