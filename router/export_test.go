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

// SetBeforeProcess makes every sender call f with the announcement it is
// about to take, after its look at the records asked back (a clock that
// moves at that instant, in tests).
func SetBeforeProcess(s *Service, f func(id string)) { s.beforeProcess.Store(&f) }

// SetReadAheadFault makes a sender's read of a due record by its sequence
// fail when f answers an error.
func SetReadAheadFault(s *Service, f func(seq uint64) error) { s.readAheadFault.Store(&f) }

// EachBetween lists a cron's occurrences in batches (the scheduler's walk).
var EachBetween = eachBetween

// SetLostRecord makes a sender treat the record messages f says as lost on
// their way: not admitted, given back by JetStream after delay.
func SetLostRecord(s *Service, f func(account string, seq, deliveries uint64) bool) {
	s.lostRecord.Store(&f)
}
