package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/inbound"
)

// Inbound is what the API needs from the inbound hub (*inbound.Hub).
type Inbound interface {
	groupcast.InboundSink
	Report(ctx context.Context, cfg *configs.Config, account, group string, days int) (inbound.Report, error)
}

var _ Inbound = (*inbound.Hub)(nil)

// SetInbound gives the server the hub that takes OneBot's posted events
// and answers group reports; without one those routes answer 503.
func (s *Server) SetInbound(h Inbound) { s.inbound = h }

// onebotPath is the one /v1 route the bearer tokens do not guard: OneBot
// implementations cannot send them; the account's post_secret signs
// instead.
var onebotPath = regexp.MustCompile(`^/v1/inbound/onebot/[^/]+$`)

func publicPath(p string) bool { return onebotPath.MatchString(p) }

// onebotEvent takes one event an OneBot v11 implementation posts (its HTTP
// POST reporter). With the account's post_secret, X-Signature must be
// "sha1=" and the HMAC-SHA1 of the raw body (401 otherwise, nothing
// done). A report that is not a group message or member notice (a
// heartbeat, a private message) is answered 204 and ignored.
func (s *Server) onebotEvent(w http.ResponseWriter, r *http.Request) {
	cfg := s.svc.Config()
	name := r.PathValue("account")
	acc, ok := cfg.Account(name)
	if !ok || acc.Platform != qq.Platform.Name || acc.Driver != qq.OneBotDriver.Name {
		writeError(w, http.StatusNotFound, "not_found", "account", "no qq account of driver onebot named "+strconv.Quote(name))
		return
	}
	settings, err := adapters.Settings[qq.OneBotConfig](*acc, qq.OneBotDriver.Name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "", "the account's settings: "+err.Error())
		return
	}
	limit := min(int64(cfg.Server.MaxBody), qq.MaxEventBytes)
	if limit <= 0 {
		limit = qq.MaxEventBytes
	}
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body",
			"an event of "+strconv.FormatInt(r.ContentLength, 10)+" bytes is over "+strconv.FormatInt(limit, 10))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body", "an event is at most "+strconv.FormatInt(limit, 10)+" bytes")
			return
		}
		writeError(w, http.StatusBadRequest, "malformed", "body", "reading the body: "+err.Error())
		return
	}
	if secret := settings.PostSecret.Reveal(); secret != "" && !qq.CheckSignature(secret, body, r.Header.Get("X-Signature")) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "X-Signature",
			"X-Signature must be sha1= and the HMAC-SHA1 of the body under the account's post_secret")
		return
	}
	if s.inbound == nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "", "inbound events are not taken yet")
		return
	}
	ev, err := qq.DecodeEvent(acc.Name, body)
	switch {
	case errors.Is(err, qq.ErrNotEvent):
		w.WriteHeader(http.StatusNoContent)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "malformed", "body", err.Error())
		return
	}
	if err := s.inbound.Inbound(r.Context(), ev); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// groupReport answers a group's member figures and sends per day.
func (s *Server) groupReport(w http.ResponseWriter, r *http.Request) {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > inbound.MaxDays {
			writeError(w, http.StatusBadRequest, "invalid", "days", "days must be a number from 1 to "+strconv.Itoa(inbound.MaxDays))
			return
		}
		days = n
	}
	if s.inbound == nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "", "group reports are not available yet")
		return
	}
	rep, err := s.inbound.Report(r.Context(), s.svc.Config(), r.PathValue("account"), r.PathValue("group"), days)
	if errors.Is(err, groupcast.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "account", "no account named "+strconv.Quote(r.PathValue("account")))
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
