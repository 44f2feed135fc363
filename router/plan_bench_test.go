package router_test

import (
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
)

// benchPlanConfig is a mid-sized deployment: six accounts, five routes
// matching by tag, category and priority, groups named in Chinese, and a
// group two routes both name (planned once).
const benchPlanConfig = `
store: {driver: memory}
accounts:
  - {name: dt-ops, platform: dingtalk, driver: file, path: /dev/null}
  - {name: dt-all, platform: dingtalk, driver: file, path: /dev/null}
  - {name: wx-ops, platform: wechat, driver: file, path: /dev/null}
  - {name: wx-cs, platform: wechat, driver: file, path: /dev/null}
  - {name: qq-main, platform: qq, driver: file, path: /dev/null}
  - {name: qq-fans, platform: qq, driver: file, path: /dev/null}
routes:
  - name: ops
    match: {tags: [ops, database, network]}
    targets:
      - {account: dt-ops}
      - {account: wx-ops, groups: ["运维通知群", "值班群", "DBA 群"]}
      - {account: qq-main, groups: ["123456789", "987654321"]}
  - name: urgent
    match: {priorities: [urgent]}
    targets:
      - {account: dt-all}
      - {account: wx-ops, groups: ["运维通知群"]}
  - name: promo
    match: {categories: [promotion]}
    targets:
      - {account: qq-fans, groups: ["10001", "10002", "10003"]}
      - {account: wx-cs, groups: ["客户交流群"]}
  - name: hr
    match: {tags: [hr, office]}
    targets:
      - {account: dt-all}
  - name: everything-notice
    match: {categories: [notice]}
    targets:
      - {account: dt-all}
      - {account: wx-ops, groups: ["值班群"]}
`

// BenchmarkPlan matches an ops notice against the five routes: two match,
// eight destinations, one duplicate dropped, seven planned.
func BenchmarkPlan(b *testing.B) {
	cfg, err := configs.LoadBytes([]byte(benchPlanConfig), "bench.yaml", configs.Options{Catalog: registry.Catalog})
	if err != nil {
		b.Fatal(err)
	}
	a := &groupcast.Announcement{ID: "p1", Title: "数据库升级", Category: groupcast.CategoryNotice,
		Priority: groupcast.PriorityNormal, Tags: []string{"ops", "database"}, Body: "正文"}
	if got := router.Plan(cfg, a); len(got) != 7 {
		b.Fatalf("planned %d destinations, want 7: %+v", len(got), got)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = router.Plan(cfg, a)
	}
}
