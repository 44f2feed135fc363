package router

import (
	"time"

	"github.com/groupcast/groupcast/configs"
)

// ReviewNoticeKey and ReviewClaimTTL expose the notice record to tests.
func ReviewNoticeKey(n configs.ReviewNotify, id string) string { return reviewNoticeKey(n, id) }

const ReviewClaimTTL = reviewClaimTTL

// ReviewNoticeClaim is a claim by another replica, as stored.
func ReviewNoticeClaim(id, by string, at time.Time) any {
	return reviewNotice{ID: id, ClaimedBy: by, ClaimedAt: at}
}

// LedgerReads is how many records the ledger scans (Reviews, the review
// notifier, the calendar) have read.
func (s *Service) LedgerReads() int64 { return s.skips.reads.Load() }
