package linesim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/linesim"
)

func TestVerifyIDToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, err := f.sim.AddUser(linesim.User{DisplayName: "佐藤", PictureURL: "https://example.com/s.png"})
	if err != nil {
		t.Fatal(err)
	}
	valid := f.sim.IssueIDToken(testLoginID, u.ID, time.Hour)
	expired := f.sim.IssueIDToken(testLoginID, u.ID, -time.Second)
	otherChannel := f.sim.IssueIDToken(testOtherLoginID, u.ID, time.Hour)
	withNonce := f.sim.IssueIDTokenWithNonce(testLoginID, u.ID, time.Hour, "n-1")
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))

	tests := []struct {
		name     string
		form     url.Values
		wantDesc string // empty: valid
	}{
		{"valid", url.Values{"id_token": {valid}, "client_id": {testLoginID}}, ""},
		{"valid with nonce", url.Values{"id_token": {withNonce}, "client_id": {testLoginID}, "nonce": {"n-1"}}, ""},
		{"expired", url.Values{"id_token": {expired}, "client_id": {testLoginID}}, "IdToken expired."},
		{"wrong audience", url.Values{"id_token": {otherChannel}, "client_id": {testLoginID}}, "Invalid IdToken Audience."},
		{"garbage", url.Values{"id_token": {"not.a.jwt"}, "client_id": {testLoginID}}, "Invalid IdToken."},
		{"tampered signature", url.Values{"id_token": {tampered}, "client_id": {testLoginID}}, "Invalid IdToken."},
		{"wrong nonce", url.Values{"id_token": {withNonce}, "client_id": {testLoginID}, "nonce": {"n-2"}}, "Invalid IdToken Nonce."},
		{"wrong user", url.Values{"id_token": {valid}, "client_id": {testLoginID}, "user_id": {linesim.NewUserID()}}, "Invalid IdToken Subject Identifier."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := http.PostForm(f.baseURL()+"/oauth2/v2.1/verify", tt.form)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if tt.wantDesc != "" {
				want := map[string]any{"error": "invalid_request", "error_description": tt.wantDesc}
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("status = %d, want 400", res.StatusCode)
				}
				if diff := cmp.Diff(want, body); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status = %d: %v", res.StatusCode, body)
			}
			if body["iss"] != "https://access.line.me" || body["sub"] != u.ID || body["aud"] != testLoginID ||
				body["name"] != "佐藤" || body["picture"] != "https://example.com/s.png" {
				t.Errorf("claims = %v", body)
			}
			if exp, iat := body["exp"].(float64), body["iat"].(float64); exp-iat != 3600 {
				t.Errorf("exp - iat = %v", exp-iat)
			}
		})
	}
}

func TestOpenURILeadsALIFFURLToItsEndpoint(t *testing.T) {
	t.Parallel()
	s := linesim.New(linesim.Options{})
	if err := s.AddChannel(linesim.ChannelConfig{ID: "2000000009", Secret: "s", AccessToken: "a", LoginChannelID: "1650000009", LoginChannelSecret: "x",
		LIFFApps: map[string]string{"1650000009-AbCd": "https://school.example/"}}); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"https://liff.line.me/1650000009-AbCd/p/liff/2000000009/absence": "https://school.example/p/liff/2000000009/absence",
		"https://liff.line.me/1650000009-AbCd":                           "https://school.example",
		"https://liff.line.me/1650000009-AbCd?x=1":                       "https://school.example?x=1",
		"https://liff.line.me/1650000009-Other/p":                        "https://liff.line.me/1650000009-Other/p",
		"https://school.example/p/absence/abc":                           "https://school.example/p/absence/abc",
	} {
		if got := s.OpenURI(in); got != want {
			t.Errorf("OpenURI(%q) = %q, want %q", in, got, want)
		}
	}
}
