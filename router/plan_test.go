package router_test

import (
	"reflect"
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
)

// planConfig has one route per kind of match, each to its own group, so a
// plan's groups say which routes matched: by category, by priority, by tag
// (any of), by all three at once, and one that matches everything. The
// route "db-again" names a group "tags" already has: planned once.
const planConfig = `
store: {driver: memory}
accounts:
  - {name: qq, platform: qq, driver: file, path: /dev/null}
  - {name: dt, platform: dingtalk, driver: file, path: /dev/null}
policies:
  - {name: quiet, windows: ["08:00-22:00"]}
routes:
  - name: promotion
    match: {categories: [promotion]}
    targets: [{account: qq, groups: [promotion]}]
  - name: engagement
    match: {categories: [interaction, promotion]}
    targets: [{account: qq, groups: [engagement]}]
  - name: urgent
    match: {priorities: [urgent]}
    policy: quiet
    targets: [{account: qq, groups: [urgent]}, {account: dt}]
  - name: tags
    match: {tags: [ops, database]}
    targets: [{account: qq, groups: [tags]}]
  - name: all-three
    match: {categories: [notice], priorities: [urgent, normal], tags: [database]}
    targets: [{account: qq, groups: [all-three]}]
  - name: db-again
    match: {tags: [database]}
    targets: [{account: qq, groups: [tags, db-again]}]
  - name: everything
    match: {}
    targets: [{account: qq, groups: [everything]}]
`

func loadPlanConfig(t *testing.T, yaml string) *configs.Config {
	t.Helper()
	cfg, err := configs.LoadBytes([]byte(yaml), "plan.yaml", configs.Options{Catalog: registry.Catalog})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPlanMatches(t *testing.T) {
	cfg := loadPlanConfig(t, planConfig)
	// The same routes without the catch-all: an announcement no route
	// matches is planned nowhere.
	noCatchAll := loadPlanConfig(t, planConfig[:len(planConfig)-len(`  - name: everything
    match: {}
    targets: [{account: qq, groups: [everything]}]
`)])
	ann := func(c groupcast.Category, p groupcast.Priority, tags ...string) *groupcast.Announcement {
		return &groupcast.Announcement{ID: "a", Title: "t", Body: "b", Category: c, Priority: p, Tags: tags}
	}
	const (
		notice      = groupcast.CategoryNotice
		interaction = groupcast.CategoryInteraction
		promotion   = groupcast.CategoryPromotion
		urgent      = groupcast.PriorityUrgent
		normal      = groupcast.PriorityNormal
		low         = groupcast.PriorityLow
	)
	tests := []struct {
		name   string
		cfg    *configs.Config
		a      *groupcast.Announcement
		groups []string // "route:group" in plan order
	}{
		{"plain notice: only the empty match", cfg, ann(notice, normal),
			[]string{"everything:everything"}},
		{"promotion: both category routes", cfg, ann(promotion, normal),
			[]string{"promotion:promotion", "engagement:engagement", "everything:everything"}},
		{"interaction: the route listing it among others", cfg, ann(interaction, low),
			[]string{"engagement:engagement", "everything:everything"}},
		{"urgent notice: the priority route, both its targets", cfg, ann(notice, urgent),
			[]string{"urgent:urgent", "urgent:dt", "everything:everything"}},
		{"low is not urgent", cfg, ann(notice, low),
			[]string{"everything:everything"}},
		{"one tag of two is enough", cfg, ann(interaction, low, "misc", "ops"),
			[]string{"engagement:engagement", "tags:tags", "everything:everything"}},
		{"a tag no route names", cfg, ann(notice, low, "hr"),
			[]string{"everything:everything"}},
		{"tags are compared exactly", cfg, ann(notice, low, "OPS", "ops "),
			[]string{"everything:everything"}},
		{"every key of a match must hold", cfg, ann(notice, normal, "database"),
			[]string{"tags:tags", "all-three:all-three", "db-again:db-again", "everything:everything"}},
		{"one key failing fails the match (category)", cfg, ann(promotion, normal, "database"),
			[]string{"promotion:promotion", "engagement:engagement", "tags:tags", "db-again:db-again", "everything:everything"}},
		{"one key failing fails the match (priority)", cfg, ann(notice, low, "database"),
			[]string{"tags:tags", "db-again:db-again", "everything:everything"}},
		{"everything at once", cfg, ann(notice, urgent, "database", "ops"),
			[]string{"urgent:urgent", "urgent:dt", "tags:tags", "all-three:all-three", "db-again:db-again", "everything:everything"}},
		{"no route matches", noCatchAll, ann(notice, normal, "hr"), nil},
		{"no route matches a low notice without tags", noCatchAll, ann(notice, low), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range router.Plan(tt.cfg, tt.a) {
				got = append(got, d.Route+":"+d.Group)
			}
			if !reflect.DeepEqual(got, tt.groups) {
				t.Errorf("planned %q, want %q", got, tt.groups)
			}
		})
	}
}

// TestPlanDestination: a planned destination carries its route's policy,
// the target's style (defaulted by platform) and options, and the group's
// stage.
func TestPlanDestination(t *testing.T) {
	cfg := loadPlanConfig(t, `
org: 运维中心
timezone: Asia/Shanghai
store: {driver: memory}
accounts:
  - {name: qq, platform: qq, driver: file, path: /dev/null}
policies:
  - {name: quiet, windows: ["08:00-22:00"]}
routes:
  - name: ops
    match: {categories: [notice]}
    policy: quiet
    targets:
      - account: qq
        max_chars: 500
        signature: 值班组
        groups: ["123", {id: "456", stage: mature}]
`)
	got := router.Plan(cfg, &groupcast.Announcement{ID: "a", Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal})
	opts := groupcast.StyleOptions{MaxChars: 500, Signature: "值班组", Org: "运维中心", Timezone: "Asia/Shanghai"}
	want := []groupcast.Destination{
		{Route: "ops", Platform: "qq", Account: "qq", Group: "123", Style: "long", Policy: "quiet", Options: opts},
		{Route: "ops", Platform: "qq", Account: "qq", Group: "456", Style: "long", Policy: "quiet", Stage: groupcast.StageMature, Options: opts},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan =\n%+v\nwant\n%+v", got, want)
	}
	if got := router.Plan(cfg, &groupcast.Announcement{ID: "b", Category: groupcast.CategoryPromotion}); len(got) != 0 {
		t.Errorf("a promotion matched the notice route: %+v", got)
	}
}
