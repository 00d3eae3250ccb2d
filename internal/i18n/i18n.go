// Package i18n is renraku's message catalogue: every string a parent or teacher reads
// comes from here, Japanese first, English alongside, and room for more languages
// (Portuguese, Vietnamese, Chinese, Tagalog …) by adding a file to web/i18n.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Default is the language used when nothing else matches.
var Default = language.Japanese

// Catalog holds all languages' messages.
type Catalog struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag
	matcher language.Matcher
	ids     map[string]map[string]bool // lang → message IDs, for completeness checks
}

// Load reads every i18n/<area>.<lang>.json file of fsys (active.ja.json, staff.en.json …);
// a feature may keep its messages in a file of its own.
func Load(fsys fs.FS) (*Catalog, error) {
	b := goi18n.NewBundle(Default)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(fsys, "i18n/*.*.json")
	if err != nil {
		return nil, err
	}
	c := &Catalog{bundle: b, ids: map[string]map[string]bool{}}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		mf, err := b.ParseMessageFileBytes(data, path.Base(f))
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
		set := c.ids[mf.Tag.String()]
		if set == nil {
			set = map[string]bool{}
			c.ids[mf.Tag.String()] = set
		}
		for _, m := range mf.Messages {
			if set[m.ID] {
				return nil, fmt.Errorf("i18n: %s: message %q is defined twice", f, m.ID)
			}
			set[m.ID] = true
		}
	}
	// The default language first, so the matcher falls back to it.
	c.tags = append([]language.Tag{Default}, removeTag(b.LanguageTags(), Default)...)
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

func removeTag(tags []language.Tag, t language.Tag) []language.Tag {
	var out []language.Tag
	for _, x := range tags {
		if x != t {
			out = append(out, x)
		}
	}
	return out
}

// Languages lists the catalogue's languages, default first.
func (c *Catalog) Languages() []string {
	out := make([]string, len(c.tags))
	for i, t := range c.tags {
		out[i] = t.String()
	}
	return out
}

// MessageIDs returns the sorted message IDs of one language.
func (c *Catalog) MessageIDs(lang string) []string {
	var ids []string
	for id := range c.ids[lang] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Localizer picks the best language for prefs: each an explicit choice (such as a
// "ja" or "en" cookie) or an Accept-Language header value, strongest first.
func (c *Catalog) Localizer(prefs ...string) *Localizer {
	var tags []language.Tag
	for _, p := range prefs {
		if p == "" {
			continue
		}
		t, _, err := language.ParseAcceptLanguage(p)
		if err == nil {
			tags = append(tags, t...)
		}
	}
	_, idx, conf := c.matcher.Match(tags...)
	tag := c.tags[idx]
	if conf == language.No {
		tag = Default
	}
	base, _ := tag.Base()
	return &Localizer{lang: base.String(), l: goi18n.NewLocalizer(c.bundle, tag.String())}
}

// Localizer translates message IDs into one language.
type Localizer struct {
	lang string
	l    *goi18n.Localizer
}

// Lang is the chosen language's code ("ja", "en").
func (l *Localizer) Lang() string { return l.lang }

// T returns the message id, filled with data when its text has {{.Name}} fields. A
// missing message returns the ID itself, which tests catch (see CheckIDs).
func (l *Localizer) T(id string, data ...map[string]any) string {
	cfg := &goi18n.LocalizeConfig{MessageID: id}
	if len(data) > 0 {
		cfg.TemplateData = data[0]
	}
	s, err := l.l.Localize(cfg)
	if err != nil || s == "" {
		return id
	}
	return s
}

// Missing returns the IDs used by code (ids) that some language lacks, as
// "lang:id" strings, for a test that keeps the catalogue complete.
func (c *Catalog) Missing(ids []string) []string {
	var out []string
	for lang, set := range c.ids {
		for _, id := range ids {
			if !set[id] {
				out = append(out, lang+":"+id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Inconsistent returns IDs present in one language but not in another.
func (c *Catalog) Inconsistent() []string {
	all := map[string]bool{}
	for _, set := range c.ids {
		for id := range set {
			all[id] = true
		}
	}
	var ids []string
	for id := range all {
		ids = append(ids, id)
	}
	return c.Missing(ids)
}

// IsSupported reports whether lang is one of the catalogue's languages.
func (c *Catalog) IsSupported(lang string) bool {
	for _, t := range c.tags {
		if strings.EqualFold(t.String(), lang) {
			return true
		}
	}
	return false
}
