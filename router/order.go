package router

import (
	"sync"
	"time"
)

// releaseOrder keeps deferred targets of a paced account going out in
// acceptance order when their time comes (a window opens, a pause ends):
// JetStream redelivers the messages that fall due together in no
// particular order, so a target that falls due while an earlier-accepted
// one of the same account is also due waits a moment for it.
//
// It knows the targets this process deferred, and those it has seen
// deferred since it started: after a restart every deferred target comes
// by within MaxDeferWait and is known again.
type releaseOrder struct {
	mu       sync.Mutex
	accounts map[string]map[string]waiting // account → "<announcement>/<target key>" → waiting
}

type waiting struct {
	accepted  time.Time
	notBefore time.Time
	due       bool // seen due once: it has waited for the others to show up
}

func (o *releaseOrder) set(account, key string, accepted, notBefore time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.accounts == nil {
		o.accounts = map[string]map[string]waiting{}
	}
	m := o.accounts[account]
	if m == nil {
		m = map[string]waiting{}
		o.accounts[account] = m
	}
	m[key] = waiting{accepted: accepted, notBefore: notBefore}
}

func (o *releaseOrder) remove(account, key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.accounts[account], key)
}

// firstDue records that a target was found due, and reports whether this is
// the first time: then it waits one round so that every target falling due
// at the same moment (after a restart too) is known before one goes.
func (o *releaseOrder) firstDue(account, key string, accepted, notBefore time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.accounts == nil {
		o.accounts = map[string]map[string]waiting{}
	}
	m := o.accounts[account]
	if m == nil {
		m = map[string]waiting{}
		o.accounts[account] = m
	}
	w, ok := m[key]
	if ok && w.due && w.notBefore.Equal(notBefore) {
		return false
	}
	m[key] = waiting{accepted: accepted, notBefore: notBefore, due: true}
	return true
}

// earlierDue counts the other targets of the account, accepted before this
// one, that are also due at now and not sent yet.
func (o *releaseOrder) earlierDue(account, key string, accepted, now time.Time) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k, w := range o.accounts[account] {
		if k == key || w.notBefore.After(now) {
			continue
		}
		if w.accepted.Before(accepted) || (w.accepted.Equal(accepted) && k < key) {
			n++
		}
	}
	return n
}
