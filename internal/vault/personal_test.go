package vault_test

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/vault"
)

func TestPersonalIsRedacted(t *testing.T) {
	t.Parallel()
	const secret = "山田花子"
	p := vault.Personal(secret)
	type wrapper struct {
		Name vault.Personal
		Age  int
	}
	w := wrapper{Name: p, Age: 9}
	// Every form of the value that must not show: itself, its bytes in hex (%x) and
	// its quoted escapes (%+q).
	forbidden := []string{secret, "山田", hex.EncodeToString([]byte(secret))[:8], strings.ToUpper(hex.EncodeToString([]byte(secret))[:8]), `\u5c71`}

	outputs := map[string]string{}
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%+q", "%#q", "%x", "%X", "% x", "%d", "%10s", "%-5v", "%.2s", "%T", "%U", "%c"} {
		outputs["fmt "+verb] = fmt.Sprintf(verb, p)
		outputs["fmt struct "+verb] = fmt.Sprintf(verb, w)
		outputs["fmt pointer to struct "+verb] = fmt.Sprintf(verb, &w)
		outputs["fmt slice "+verb] = fmt.Sprintf(verb, []vault.Personal{p, p})
		outputs["fmt map "+verb] = fmt.Sprintf(verb, map[string]vault.Personal{"name": p})
	}
	outputs["Sprint"] = fmt.Sprint(p)
	outputs["Sprintln"] = fmt.Sprintln(p, w)
	outputs["String"] = p.String()
	outputs["GoString"] = p.GoString()
	outputs["error wrapping"] = fmt.Errorf("saving %v: %w", p, errors.New("boom")).Error()

	j, err := json.Marshal(map[string]any{"w": w, "p": p, "list": []vault.Personal{p}})
	if err != nil {
		t.Fatal(err)
	}
	outputs["encoding/json"] = string(j)
	x, err := xml.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outputs["encoding/xml"] = string(x)
	var g bytes.Buffer
	if err := gob.NewEncoder(&g).Encode(w); err != nil {
		t.Fatal(err)
	}
	outputs["encoding/gob"] = g.String()
	text, err := p.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	outputs["MarshalText"] = string(text)

	var jb, tb, lb bytes.Buffer
	slog.New(slog.NewJSONHandler(&jb, nil)).Info("saved", "name", p, "w", w, slog.Group("g", "name", p), slog.Any("any", p))
	slog.New(slog.NewTextHandler(&tb, nil)).Info("saved", "name", p, "w", w, slog.Group("g", "name", p), slog.Any("any", p))
	log.New(&lb, "", 0).Printf("saved %v %+v", p, w)
	outputs["slog JSON handler"] = jb.String()
	outputs["slog text handler"] = tb.String()
	outputs["log.Printf"] = lb.String()

	for where, out := range outputs {
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("%s leaks the value (%q): %s", where, f, out)
			}
		}
	}

	// Spot-check the exact forms callers will see.
	exact := []struct {
		name, got, want string
	}{
		{"%v", fmt.Sprintf("%v", p), "[redacted]"},
		{"%q", fmt.Sprintf("%q", p), "[redacted]"},
		{"%#v", fmt.Sprintf("%#v", p), `vault.Personal("[redacted]")`},
		{"%+v struct", fmt.Sprintf("%+v", w), "{Name:[redacted] Age:9}"},
		{"json", string(must(json.Marshal(w))), `{"Name":"[redacted]","Age":9}`},
		{"slog JSON attribute", jsonAttr(t, jb.Bytes(), "name"), "[redacted]"},
	}
	for _, tt := range exact {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if p.Reveal() != secret || p.IsZero() || !vault.Personal("").IsZero() {
		t.Error("Reveal or IsZero lost the value")
	}
	// Reading from JSON is not redacted, so request bodies still work.
	var in wrapper
	if err := json.Unmarshal([]byte(`{"Name":"佐藤"}`), &in); err != nil || in.Name.Reveal() != "佐藤" {
		t.Errorf("unmarshal: %q, %v", in.Name.Reveal(), err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func jsonAttr(t *testing.T, line []byte, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[key].(string)
	return s
}
