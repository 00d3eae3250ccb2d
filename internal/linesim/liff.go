package linesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// IDTokenIssuer is the iss claim of LINE Login ID tokens.
const IDTokenIssuer = "https://access.line.me"

type idTokenClaims struct {
	Iss     string   `json:"iss"`
	Sub     string   `json:"sub"`
	Aud     string   `json:"aud"`
	Exp     int64    `json:"exp"`
	Iat     int64    `json:"iat"`
	Nonce   string   `json:"nonce,omitempty"`
	Amr     []string `json:"amr,omitempty"`
	Name    string   `json:"name,omitempty"`
	Picture string   `json:"picture,omitempty"`
	Email   string   `json:"email,omitempty"`
}

type loginError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// IssueIDToken returns an ID token for userID from the LINE Login channel, as
// liff.getIDToken() would hand the LIFF page: a JWT signed HS256 with the login
// channel's secret, carrying the user's name and picture. A token for an unknown
// login channel is signed with no key, and the verify endpoint refuses it.
func (s *Sim) IssueIDToken(loginChannelID, userID string, ttl time.Duration) string {
	return s.IssueIDTokenWithNonce(loginChannelID, userID, ttl, "")
}

// IssueIDTokenWithNonce is IssueIDToken with the nonce the login request carried.
func (s *Sim) IssueIDTokenWithNonce(loginChannelID, userID string, ttl time.Duration, nonce string) string {
	s.mu.Lock()
	secret := s.logins[loginChannelID]
	now := s.now()
	c := idTokenClaims{Iss: IDTokenIssuer, Sub: userID, Aud: loginChannelID, Iat: now.Unix(),
		Exp: now.Add(ttl).Unix(), Nonce: nonce, Amr: []string{"linesso"}}
	if u, ok := s.users[userID]; ok {
		c.Name, c.Picture = u.DisplayName, u.PictureURL
	}
	s.mu.Unlock()
	return signJWT(c, secret)
}

var b64 = base64.RawURLEncoding

func signJWT(c idTokenClaims, secret string) string {
	header := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))
	payload, _ := json.Marshal(c) // plain struct: cannot fail
	signing := header + "." + b64.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + b64.EncodeToString(mac.Sum(nil))
}

func loginErr(desc string) response {
	return jsonResp(http.StatusBadRequest, loginError{Error: "invalid_request", Description: desc})
}

// handleVerifyIDToken is POST /oauth2/v2.1/verify: the checks LINE documents, in the
// order a token is read (signature, issuer, expiry, audience, nonce, subject).
func (s *Sim) handleVerifyIDToken(c *call) response {
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		return loginErr("Invalid request body.")
	}
	token, clientID := form.Get("id_token"), form.Get("client_id")
	if token == "" {
		return loginErr("Required parameter: id_token")
	}
	if clientID == "" {
		return loginErr("Required parameter: client_id")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return loginErr("Invalid IdToken.")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	hb, err1 := b64.DecodeString(parts[0])
	pb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	var claims idTokenClaims
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil ||
		header.Alg != "HS256" || json.Unmarshal(pb, &claims) != nil {
		return loginErr("Invalid IdToken.")
	}
	// The token is signed by the channel it was issued for; a token for another
	// channel verifies and is then refused for its audience.
	secret, ok := s.logins[claims.Aud]
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !ok || !hmac.Equal(sig, mac.Sum(nil)) {
		return loginErr("Invalid IdToken.")
	}
	switch {
	case claims.Iss != IDTokenIssuer:
		return loginErr("Invalid IdToken Issuer.")
	case !s.now().Before(time.Unix(claims.Exp, 0)):
		return loginErr("IdToken expired.")
	case claims.Aud != clientID:
		return loginErr("Invalid IdToken Audience.")
	case form.Has("nonce") && form.Get("nonce") != claims.Nonce:
		return loginErr("Invalid IdToken Nonce.")
	case form.Has("user_id") && form.Get("user_id") != claims.Sub:
		return loginErr("Invalid IdToken Subject Identifier.")
	}
	return jsonResp(http.StatusOK, claims)
}

// LIFFURLPrefix starts every LIFF URL: https://liff.line.me/{liffId}/{path}.
const LIFFURLPrefix = "https://liff.line.me/"

// OpenURI is the page LINE ends on when the user opens uri: for the LIFF URL of an app
// of a channel's LINE Login channel, the app's endpoint URL with the LIFF URL's path and
// query added (where LINE's redirect through liff.state and the SDK's liff.init lead);
// any other URI as it is.
func (s *Sim) OpenURI(uri string) string {
	rest, ok := strings.CutPrefix(uri, LIFFURLPrefix)
	if !ok {
		return uri
	}
	id, extra, _ := strings.Cut(rest, "/")
	id, query, _ := strings.Cut(id, "?")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.channels {
		if endpoint, ok := ch.cfg.LIFFApps[id]; ok {
			out := strings.TrimSuffix(endpoint, "/")
			if extra != "" {
				out += "/" + extra
			} else if query != "" {
				out += "?" + query
			}
			return out
		}
	}
	return uri
}
