package groupcast

import "time"

// AccountState is an account's health as GET /v1/accounts reports it.
type AccountState string

const (
	AccountOK       AccountState = "ok"       // sending, or able to
	AccountDegraded AccountState = "degraded" // sending, with recent errors or throttles
	AccountDown     AccountState = "down"     // cannot send (logged out, unreachable); LastError says what to do
	AccountPaused   AccountState = "paused"   // a platform throttle or a ban guard paused it until PausedUntil
)

// AccountHealth is one account in GET /v1/accounts.
type AccountHealth struct {
	Name        string       `json:"name"`
	Platform    string       `json:"platform"`
	Driver      string       `json:"driver"`
	State       AccountState `json:"state"`
	LastError   string       `json:"last_error,omitempty"`
	PausedUntil *time.Time   `json:"paused_until,omitempty"`
	// Owner is the replica that holds the account's lease (scale-out), or
	// "" when this process runs alone.
	Owner     string `json:"owner,omitempty"`
	SentToday int    `json:"sent_today"`
	// PerMinute is the account's rate (rate.per_minute, or the platform's
	// documented pace); 0 when it has none. SentLastMinute counts its
	// requests in the last 60 seconds, against it.
	PerMinute      int `json:"per_minute,omitempty"`
	SentLastMinute int `json:"sent_last_minute"`
}
