package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/groupcast/groupcast/router"
)

// heartbeat keeps idle event streams open through proxies.
const heartbeat = 25 * time.Second

// stream is the live feed (text/event-stream): one event per change of
// the ledger, from the engine's single watch of the process (router's
// Watch fans it out). The board fetches the changed row; a message page
// its targets. A reset event asks the page to reload what it shows.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	only := r.URL.Query().Get("id") // a message page follows one announcement
	changes, stop := c.eng.Watch()
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 2000\n: hello\n\n")
	fl.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			fl.Flush()
		case ch, ok := <-changes:
			if !ok {
				return
			}
			if only != "" && ch.Kind != router.ChangeReset && ch.ID != only {
				continue
			}
			b, _ := json.Marshal(ch)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ch.Kind, b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
