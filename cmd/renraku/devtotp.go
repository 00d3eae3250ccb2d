package main

import (
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/renraku/renraku/internal/demo"
)

// devTOTP shows the demo administrators' current second-factor codes, so a developer
// can sign in without an authenticator app. It is mounted by `renraku dev` only.
var devTOTP = &totpPage{}

type totpPage struct {
	mu     sync.Mutex
	logins []demo.Login
}

func (p *totpPage) set(l []demo.Login) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logins = l
}

var totpTemplate = template.Must(template.New("totp").Parse(`<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>demo codes</title></head>
<body><h1>デモ管理者の確認コード（開発モードのみ）</h1><table>
{{range .}}<tr><td>{{.Login}}</td><td><code data-login="{{.Login}}">{{.Code}}</code></td></tr>{{end}}
</table></body></html>`))

func (p *totpPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	type row struct{ Login, Code string }
	var rows []row
	for _, l := range p.logins {
		if l.TOTPSecret == "" {
			continue
		}
		code, err := totp.GenerateCode(l.TOTPSecret, time.Now())
		if err != nil {
			continue
		}
		rows = append(rows, row{l.Login, code})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = totpTemplate.Execute(w, rows)
}
