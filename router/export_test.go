package router

import (
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/store"
)

// DayCounterFor is the store-backed daily count the daemon gives drivers.
func DayCounterFor(st *store.Store, account string) adapters.DayCounter {
	return dayCounter{st: st, key: store.DailyKey(account)}
}

// SetSeriesFault makes a series' expansion fail before the part f fails
// for (a crash halfway, in tests).
func SetSeriesFault(s *Service, f func(part int) error) { s.seriesFault = f }

// UnsupportedReason is the reason of a target whose driver cannot recall.
var UnsupportedReason = unsupportedReason
