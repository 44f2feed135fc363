package groupcast

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Category is what kind of content an announcement is; the content mix
// policy counts deliveries per category.
type Category string

const (
	CategoryNotice      Category = "notice"
	CategoryInteraction Category = "interaction"
	CategoryPromotion   Category = "promotion"
)

// Priority decides whether send windows and the mix apply (urgent ignores them).
type Priority string

const (
	PriorityUrgent Priority = "urgent"
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low"
)

// Link is a titled URL; the short style writes it as "标题：URL".
type Link struct {
	Title string `json:"title" yaml:"title"`
	URL   string `json:"url" yaml:"url"`
}

// Image is a picture the drivers that can send images attach.
type Image struct {
	URL string `json:"url" yaml:"url"`
	Alt string `json:"alt,omitempty" yaml:"alt"`
}

// Announcement is the canonical message: what an ops team writes once.
type Announcement struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Category   Category   `json:"category"`
	Priority   Priority   `json:"priority"`
	Tags       []string   `json:"tags,omitempty"`
	Summary    string     `json:"summary,omitempty"`
	SendAt     *time.Time `json:"send_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	Links      []Link     `json:"links,omitempty"`
	Images     []Image    `json:"images,omitempty"`
	MentionAll bool       `json:"mention_all,omitempty"`
	Author     string     `json:"author,omitempty"`
	Body       string     `json:"body"`
	// Series, when set, releases the body in parts (front matter series:).
	Series *Series `json:"series,omitempty"`
	// Variants and AB make an A/B test (variants.go): each target gets one
	// variant's title and body.
	Variants []Variant `json:"variants,omitempty"`
	AB       *AB       `json:"ab,omitempty"`
}

// Series releases an announcement's body in parts, each a full
// announcement of its own (docs/operations-calendar.md): the body splits
// at its level-2 headings (or at "---" lines), part 1 goes out at once (or
// at the next local At), part i at part 1's time + (i−1)·Every.
type Series struct {
	// Every is the time between two parts, at least MinSeriesEvery.
	Every time.Duration `json:"every"`
	// At is a local time of day, "HH:MM", the first part waits for; empty:
	// at once (or at send_at).
	At string `json:"at,omitempty"`
}

// MinSeriesEvery is the shortest time between two parts of a series.
const MinSeriesEvery = time.Minute

// Limits on announcement fields. Bodies are further bounded by server.max_body.
const (
	MaxTitleChars   = 128
	MaxSummaryChars = 500
	MaxIDLen        = 128
	MaxTags         = 32
	MaxTagChars     = 64
	MaxLinks        = 32
	MaxImages       = 32
	MaxAuthorChars  = 64
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$`)

// ValidID reports whether id can name an announcement: letters, digits, '-',
// '_' and single dots between them, at most 128 bytes. The id becomes part of
// store keys and message ids, so nothing else is allowed.
func ValidID(id string) bool {
	return len(id) <= MaxIDLen && idPattern.MatchString(id)
}

// document is the wire form shared by the three input formats. Times stay
// strings so that a bad one is reported with its field name.
type document struct {
	ID         string          `json:"id" yaml:"id"`
	Title      string          `json:"title" yaml:"title"`
	Category   string          `json:"category" yaml:"category"`
	Priority   string          `json:"priority" yaml:"priority"`
	Tags       []string        `json:"tags" yaml:"tags"`
	Summary    string          `json:"summary" yaml:"summary"`
	SendAt     string          `json:"send_at" yaml:"send_at"`
	ExpiresAt  string          `json:"expires_at" yaml:"expires_at"`
	Links      []Link          `json:"links" yaml:"links"`
	Images     []Image         `json:"images" yaml:"images"`
	MentionAll bool            `json:"mention_all" yaml:"mention_all"`
	Author     string          `json:"author" yaml:"author"`
	Body       string          `json:"body" yaml:"body"`
	Variants   []Variant       `json:"variants" yaml:"variants"`
	AB         *AB             `json:"ab" yaml:"ab"`
	Series     *seriesDocument `json:"series" yaml:"series"`
}

// seriesDocument is series: as written: every as a duration ("24h"), at as
// "HH:MM".
type seriesDocument struct {
	Every string `json:"every" yaml:"every"`
	At    string `json:"at" yaml:"at"`
}

// Format is an input format of an announcement.
type Format string

const (
	FormatMarkdown Format = "markdown"
	FormatJSON     Format = "json"
	FormatYAML     Format = "yaml"
)

// FormatForContentType maps an HTTP Content-Type to an input format.
func FormatForContentType(ct string) (Format, bool) {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	switch mt {
	case "text/markdown", "text/x-markdown":
		return FormatMarkdown, true
	case "application/json":
		return FormatJSON, true
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return FormatYAML, true
	}
	return "", false
}

// FormatForFile guesses the format from a file name: .json, .yaml/.yml, and
// Markdown for anything else.
func FormatForFile(name string) Format {
	switch {
	case strings.HasSuffix(name, ".json"):
		return FormatJSON
	case strings.HasSuffix(name, ".yaml"), strings.HasSuffix(name, ".yml"):
		return FormatYAML
	default:
		return FormatMarkdown
	}
}

func malformed(field, format string, args ...any) *InputError {
	return &InputError{Code: "malformed", Fields: []*FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

// Parse reads an announcement in the given format and validates it against
// now (an expires_at already past is refused). Every error is an *InputError
// naming the field at fault.
func Parse(format Format, data []byte, now time.Time) (*Announcement, error) {
	if !utf8.Valid(data) {
		return nil, malformed("body", "input is not valid UTF-8")
	}
	var doc document
	switch format {
	case FormatJSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, jsonError(err)
		}
		if dec.More() {
			return nil, malformed("", "trailing data after the JSON object")
		}
	case FormatYAML:
		if err := decodeYAML(data, &doc); err != nil {
			return nil, err
		}
	case FormatMarkdown:
		front, body, err := splitFrontMatter(data)
		if err != nil {
			return nil, err
		}
		if err := decodeYAML(front, &doc); err != nil {
			return nil, err
		}
		if doc.Body != "" {
			return nil, malformed("body", "in Markdown the body follows the front matter, not a body: key")
		}
		doc.Body = string(body)
	default:
		return nil, malformed("", "unknown format %q", format)
	}
	return doc.announcement(now)
}

func jsonError(err error) *InputError {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return malformed(typeErr.Field, "expected %s, got %s", typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return malformed("", "invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("", "empty or truncated JSON")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return malformed(strings.Trim(f, `"`), "unknown field")
	}
	return malformed("", "invalid JSON: %v", err)
}

var yamlUnknownField = regexp.MustCompile(`field (\S+) not found`)

func decodeYAML(data []byte, doc *document) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if plainYAML(data, doc) {
		return nil // the common plain front matter, without the YAML parser
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(doc); err != nil {
		if m := yamlUnknownField.FindStringSubmatch(err.Error()); m != nil {
			return malformed(m[1], "unknown field (%v)", err)
		}
		return malformed("", "invalid YAML: %v", err)
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return malformed("", "more than one YAML document")
	}
	return nil
}

// splitFrontMatter cuts "---\n<yaml>\n---\n<markdown>". Without front matter
// the whole input is the body (and validation then asks for a title).
func splitFrontMatter(data []byte) (front, body []byte, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // BOM
	rest, ok := cutLine(data, "---")
	if !ok {
		return nil, data, nil
	}
	for off := 0; off <= len(rest); {
		line := rest[off:]
		end := bytes.IndexByte(line, '\n')
		if end < 0 {
			end = len(line)
		}
		text := strings.TrimRight(string(line[:end]), "\r \t")
		if text == "---" || text == "..." {
			front = rest[:off]
			next := off + end + 1
			if next > len(rest) {
				next = len(rest)
			}
			return front, rest[next:], nil
		}
		off += end + 1
	}
	return nil, nil, malformed("front_matter", "front matter opened with --- is never closed")
}

func cutLine(data []byte, want string) ([]byte, bool) {
	end := bytes.IndexByte(data, '\n')
	if end < 0 {
		return nil, false
	}
	if strings.TrimRight(string(data[:end]), "\r \t") != want {
		return nil, false
	}
	return data[end+1:], true
}

func (d *document) announcement(now time.Time) (*Announcement, error) {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	a := &Announcement{
		ID:         strings.TrimSpace(d.ID),
		Title:      strings.TrimSpace(d.Title),
		Category:   Category(d.Category),
		Priority:   Priority(d.Priority),
		Summary:    strings.TrimSpace(d.Summary),
		Links:      d.Links,
		Images:     d.Images,
		MentionAll: d.MentionAll,
		Author:     strings.TrimSpace(d.Author),
		Body:       strings.TrimSpace(strings.ReplaceAll(d.Body, "\r\n", "\n")),
	}
	if a.ID != "" && !ValidID(a.ID) {
		bad("id", "must be 1-%d letters, digits, '-', '_' or inner dots", MaxIDLen)
	}
	switch n := utf8.RuneCountInString(a.Title); {
	case n == 0:
		bad("title", "required")
	case n > MaxTitleChars:
		bad("title", "%d characters, at most %d allowed", n, MaxTitleChars)
	case strings.ContainsAny(a.Title, "\n\r"):
		bad("title", "must be one line")
	}
	if a.Body == "" {
		bad("body", "required")
	}
	if a.Category == "" {
		a.Category = CategoryNotice
	}
	switch a.Category {
	case CategoryNotice, CategoryInteraction, CategoryPromotion:
	default:
		bad("category", "%q is not one of notice, interaction, promotion", d.Category)
	}
	if a.Priority == "" {
		a.Priority = PriorityNormal
	}
	switch a.Priority {
	case PriorityUrgent, PriorityNormal, PriorityLow:
	default:
		bad("priority", "%q is not one of urgent, normal, low", d.Priority)
	}
	if len(d.Tags) > MaxTags {
		bad("tags", "%d tags, at most %d allowed", len(d.Tags), MaxTags)
	}
	for i, t := range d.Tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > MaxTagChars {
			bad(fmt.Sprintf("tags[%d]", i), "must be 1-%d characters", MaxTagChars)
			continue
		}
		a.Tags = append(a.Tags, t)
	}
	if n := utf8.RuneCountInString(a.Summary); n > MaxSummaryChars {
		bad("summary", "%d characters, at most %d allowed", n, MaxSummaryChars)
	}
	if n := utf8.RuneCountInString(a.Author); n > MaxAuthorChars {
		bad("author", "%d characters, at most %d allowed", n, MaxAuthorChars)
	}
	if len(a.Links) > MaxLinks {
		bad("links", "%d links, at most %d allowed", len(a.Links), MaxLinks)
	}
	for i := range a.Links {
		l := &a.Links[i]
		l.Title, l.URL = strings.TrimSpace(l.Title), strings.TrimSpace(l.URL)
		if !httpURL(l.URL) {
			bad(fmt.Sprintf("links[%d].url", i), "%q is not an absolute http(s) URL", l.URL)
		}
		if l.Title == "" {
			l.Title = l.URL
		}
	}
	if len(a.Images) > MaxImages {
		bad("images", "%d images, at most %d allowed", len(a.Images), MaxImages)
	}
	for i := range a.Images {
		im := &a.Images[i]
		im.URL, im.Alt = strings.TrimSpace(im.URL), strings.TrimSpace(im.Alt)
		if !httpURL(im.URL) {
			bad(fmt.Sprintf("images[%d].url", i), "%q is not an absolute http(s) URL", im.URL)
		}
	}
	if d.Series != nil {
		a.Series = d.Series.series(bad)
	}
	a.SendAt = parseTime(d.SendAt, "send_at", bad)
	a.ExpiresAt = parseTime(d.ExpiresAt, "expires_at", bad)
	if a.ExpiresAt != nil {
		switch {
		case a.SendAt != nil && !a.ExpiresAt.After(*a.SendAt):
			bad("expires_at", "must be after send_at")
		case !now.IsZero() && !a.ExpiresAt.After(now):
			bad("expires_at", "is already in the past")
		}
	}
	a.Variants, a.AB = checkVariants(d.Variants, d.AB, bad)
	if len(errs) > 0 {
		return nil, &InputError{Code: "invalid", Fields: errs}
	}
	return a, nil
}

func (d *seriesDocument) series(bad func(string, string, ...any)) *Series {
	sr := &Series{At: strings.TrimSpace(d.At)}
	every := strings.TrimSpace(d.Every)
	switch ev, err := time.ParseDuration(every); {
	case every == "":
		bad("series.every", "required: the time between two parts, such as 24h")
	case err != nil:
		bad("series.every", "%q is not a duration such as 24h or 90m", every)
	case ev < MinSeriesEvery:
		bad("series.every", "%s is less than %s", ev, MinSeriesEvery)
	default:
		sr.Every = ev
	}
	if sr.At != "" && !isClock(sr.At) {
		bad("series.at", "%q is not a local time of day such as 09:00", sr.At)
	}
	return sr
}

// isClock reports whether s is a time of day as series.at takes it.
func isClock(s string) bool {
	_, _, ok := ParseClock(s)
	return ok
}

func parseTime(s, field string, bad func(string, string, ...any)) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		bad(field, "%q is not an RFC 3339 time such as 2026-12-01T08:00:00+08:00", s)
		return nil
	}
	return &t
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Digest is a hash of the announcement's content without its id: the same
// id posted again with the same digest is the same announcement (200), with
// another digest a conflict (409), whatever format each came in.
func (a *Announcement) Digest() string {
	c := *a
	c.ID = ""
	if c.SendAt != nil {
		t := c.SendAt.UTC()
		c.SendAt = &t
	}
	if c.ExpiresAt != nil {
		t := c.ExpiresAt.UTC()
		c.ExpiresAt = &t
	}
	b, _ := json.Marshal(&c) // a struct of strings, times and slices: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Urgent reports whether windows and the mix are skipped.
func (a *Announcement) Urgent() bool { return a.Priority == PriorityUrgent }
