package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pageTemplate is one page in both languages.
type pageTemplate struct {
	byLang map[string]*template.Template
}

// pageNames are the templates under templates/, each a "content" block in
// the layout; parts.html holds the fragments every page may use.
var pageNames = []string{"board", "message", "compose", "review", "calendar", "accounts", "group", "login", "error"}

func parsePages(a *assets) (map[string]*pageTemplate, error) {
	out := map[string]*pageTemplate{}
	for _, name := range pageNames {
		pt := &pageTemplate{byLang: map[string]*template.Template{}}
		for lang := range catalogs {
			t, err := template.New("layout.html").Funcs(funcs(lang, a)).ParseFS(templateFS,
				"templates/layout.html", "templates/parts.html", "templates/"+name+".html")
			if err != nil {
				return nil, fmt.Errorf("console: template %s: %w", name, err)
			}
			pt.byLang[lang] = t
		}
		out[name] = pt
	}
	return out, nil
}

func funcs(lang string, a *assets) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string {
			if len(args) > 0 {
				return fmt.Sprintf(tr(lang, key), args...)
			}
			return tr(lang, key)
		},
		"asset": a.path,
		"lang":  func() string { return lang },
		"tm": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.Format("2006-01-02 15:04:05")
			case *time.Time:
				if v == nil || v.IsZero() {
					return ""
				}
				return v.Format("2006-01-02 15:04:05")
			}
			return ""
		},
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
		// pathseg escapes one path segment (a group id may hold "/", "?",
		// "#" or spaces; html/template only normalizes a URL's path).
		"pathseg": url.PathEscape,
		// pct writes a rate as a percentage.
		"pct": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
		// args hands a sub-template several values.
		"args": func(v ...any) []any { return v },
	}
}

// view is what every page template gets.
type view struct {
	Page  string // board, message, …: the active tab and the script's mode
	User  user
	CSRF  string
	Lang  string
	Other string // the URL of this page in the other language
	Data  any
}

func (c *Console) view(w http.ResponseWriter, r *http.Request, page string, data any) view {
	lang := c.lang(w, r)
	other := langEN
	if lang == langEN {
		other = langZH
	}
	q := r.URL.Query()
	q.Set("lang", other)
	u := userOf(r)
	return view{Page: page, User: u, CSRF: u.csrf, Lang: lang, Other: r.URL.EscapedPath() + "?" + q.Encode(), Data: data}
}

// render writes a whole page (template name) with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	v := c.view(w, r, name, data)
	if m, ok := data.(map[string]any); ok {
		if s, ok := m["CSRF"].(string); ok && v.CSRF == "" {
			v.CSRF = s // the login form: the browser's token
		}
	}
	c.exec(w, status, name, v.Lang, "layout.html", v)
}

// fragment writes one named template of a page: a board row, a message's
// targets, a preview.
func (c *Console) fragment(w http.ResponseWriter, r *http.Request, page, name string, data any) {
	v := c.view(w, r, page, data)
	c.exec(w, http.StatusOK, page, v.Lang, name, v)
}

func (c *Console) exec(w http.ResponseWriter, status int, page, lang, name string, v view) {
	var buf bytes.Buffer
	if err := c.pages[page].byLang[lang].ExecuteTemplate(&buf, name, v); err != nil {
		c.log.Error("console: render", "page", page, "template", name, "err", err)
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail answers an error: the error page to a browser's navigation, plain
// text to the script. key is a catalog key, arg its argument.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, key, arg string) {
	lang := c.lang(w, r)
	msg := tr(lang, key)
	if arg != "" && strings.Contains(msg, "%") {
		msg = fmt.Sprintf(msg, arg)
	} else if arg != "" {
		msg += " " + arg
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(msg + "\n"))
		return
	}
	c.render(w, r, status, "error", map[string]any{"Status": status, "Message": msg})
}
