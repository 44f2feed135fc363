package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/groupcast/groupcast"
)

// Data is what a schedule's announcement is rendered with, as a Go
// text/template: {{.Date}}, {{.Week}}, {{.Occurrence}}, {{.Time.Format "1月2日"}}.
type Data struct {
	// Name is the schedule's name.
	Name string
	// Time is the occurrence's instant in the config's time zone.
	Time time.Time
	// Date is the local date, 2006-01-02.
	Date string
	// Week is the ISO 8601 week number of the local date (1–53).
	Week int
	// Weekday is the local weekday in English (Monday).
	Weekday string
	// Occurrence counts the schedule's occurrences from 1: from its start
	// date when it has one, else from 1 January of the occurrence's year.
	Occurrence int
}

// DataFor is the template data of an occurrence.
func DataFor(name string, c *Cron, o Occurrence, start time.Time) Data {
	since := start
	if since.IsZero() || since.After(o.Local) {
		since = time.Date(o.Local.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	_, week := o.Local.ISOWeek()
	return Data{Name: name, Time: o.At.In(c.loc), Date: o.Local.Format(time.DateOnly), Week: week,
		Weekday: o.Local.Weekday().String(), Occurrence: c.Count(since, o.Local)}
}

// Inline is an announcement written in the schedule itself; Title,
// Summary and Body are templates.
type Inline struct {
	Title      string           `json:"title"`
	Summary    string           `json:"summary,omitempty"`
	Body       string           `json:"body"`
	Category   string           `json:"category,omitempty"`
	Priority   string           `json:"priority,omitempty"`
	Tags       []string         `json:"tags,omitempty"`
	Links      []groupcast.Link `json:"links,omitempty"`
	MentionAll bool             `json:"mention_all,omitempty"`
	Author     string           `json:"author,omitempty"`
}

// Source is where a schedule's announcement comes from: a file read at
// each occurrence (front matter and body, the whole file a template), or
// the inline fields.
type Source struct {
	// File is the file's path (the config resolves it against its own
	// directory); read at each occurrence, so an edit applies to the next.
	File   string
	Inline *Inline

	// Set by Read: the file's text (or why it could not be read), used
	// by Build instead of reading the file again.
	read    bool
	raw     []byte
	readErr error
}

// Read answers s with its file read once, for building many occurrences
// from one reading (the calendar): Build then uses that text, or answers
// the reading's error, without opening the file again. A source without
// a file is answered as it is.
func (s Source) Read() Source {
	if s.Inline != nil || s.File == "" {
		return s
	}
	s.raw, s.readErr = readFile(s.File)
	s.read = true
	return s
}

// readFile reads an announcement file of at most MaxFileSize bytes.
func readFile(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("announcement file: %w", err)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("announcement file %s is larger than %d bytes", name, MaxFileSize)
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("announcement file: %w", err)
	}
	return raw, nil
}

// MaxFileSize bounds a schedule's announcement file.
const MaxFileSize = 1 << 20

// Build renders the announcement of one occurrence and parses it. Errors
// name the field (an *InputError from the parse, or "template" for the
// template itself). The announcement must not set id or send_at: the
// schedule gives both.
func (s Source) Build(d Data) (*groupcast.Announcement, error) {
	var (
		src    []byte
		format groupcast.Format
	)
	switch {
	case s.Inline != nil:
		in := *s.Inline
		for _, f := range []*string{&in.Title, &in.Summary, &in.Body} {
			out, err := render(*f, d)
			if err != nil {
				return nil, err
			}
			*f = out
		}
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("schedule: encode inline announcement: %w", err)
		}
		src, format = b, groupcast.FormatJSON
	case s.File != "":
		raw, err := s.raw, s.readErr
		if !s.read {
			raw, err = readFile(s.File)
		}
		if err != nil {
			return nil, err
		}
		out, err := render(string(raw), d)
		if err != nil {
			return nil, err
		}
		src, format = []byte(out), groupcast.FormatForFile(s.File)
	default:
		return nil, &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "announcement", Message: "no announcement file and no inline announcement"}}}
	}
	a, err := groupcast.Parse(format, src, time.Time{})
	if err != nil {
		return nil, err
	}
	var bad []*groupcast.FieldError
	if a.ID != "" {
		bad = append(bad, &groupcast.FieldError{Field: "id", Message: "a schedule names its occurrences (<name>-<date>-<time>): remove id"})
	}
	if a.SendAt != nil {
		bad = append(bad, &groupcast.FieldError{Field: "send_at", Message: "a schedule's cron decides when: remove send_at"})
	}
	if len(bad) > 0 {
		return nil, &groupcast.InputError{Code: "invalid", Fields: bad}
	}
	return a, nil
}

// render runs src as a text/template on d; an unknown field is an error.
func render(src string, d Data) (string, error) {
	if !strings.Contains(src, "{{") {
		return src, nil
	}
	t, err := template.New("announcement").Option("missingkey=error").Parse(src)
	if err != nil {
		return "", &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "template", Message: err.Error()}}}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return "", &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "template", Message: err.Error()}}}
	}
	return buf.String(), nil
}
