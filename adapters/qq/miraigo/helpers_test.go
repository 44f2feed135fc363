// Test helpers; the long texts both QQ drivers are tested on are
// adapterstest.LongText.
package miraigo_test

import (
	"time"

	"github.com/groupcast/groupcast"
)

func outgoing(group, text string) groupcast.Outgoing {
	return groupcast.Outgoing{
		DeliveryID:   "a1/qq-main/" + group,
		Announcement: &groupcast.Announcement{ID: "a1", Title: "维护通知"},
		Group:        group,
		Rendered:     groupcast.Rendered{Style: "long", Title: "维护通知", Format: groupcast.TextPlain, Text: text},
	}
}

func classOf(err error) (groupcast.Class, string, time.Duration) { return groupcast.Classify(err) }
