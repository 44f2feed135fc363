package transform_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/transform"
)

// BenchmarkRenderStyle renders the corpus's database maintenance notice
// (headings, lists, bold, a link; ~1.5 KB) in each style, as the deliver
// handler does once per target: Markdown parse included.
func BenchmarkRenderStyle(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", "01-db-maintenance.md"))
	if err != nil {
		b.Fatal(err)
	}
	a, err := groupcast.Parse(groupcast.FormatMarkdown, data, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	for _, style := range []string{transform.StyleShort, transform.StyleLong, transform.StyleFormal} {
		d := groupcast.Destination{Style: style, Options: groupcast.StyleOptions{Org: "运维中心"}}
		b.Run(style, func(b *testing.B) {
			r, err := transform.Render(a, d, now)
			if err != nil || r.Text == "" {
				b.Fatalf("render %s: %q %v", style, r.Text, err)
			}
			b.SetBytes(int64(len(a.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := transform.Render(a, d, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The Markdown parse alone: the share a per-announcement cache of the
	// parsed document would save on the second and third target.
	b.Run("parse-only", func(b *testing.B) {
		b.SetBytes(int64(len(a.Body)))
		b.ReportAllocs()
		for b.Loop() {
			_ = transform.Parse(a)
		}
	})
}

// benchAnnouncement is the announcement groupcast-bench posts
// (cmd/groupcast-bench/load.go): front matter with a link, a mostly Chinese
// maintenance notice of about 1 KB with bold text and a list.
const benchAnnouncement = `---
id: bench-1
title: 【系统维护】订单中心数据库升级通知（第 7 批）
category: notice
priority: normal
tags: [ops, bench]
author: 运维中心
links:
  - {title: 维护详情, url: "https://status.example.com/maint/7"}
---
各位同事：

为提升订单系统的稳定性和查询性能，运维中心定于 **12 月 1 日（周日）凌晨 02:00 至 04:00** 对订单中心数据库进行版本升级和参数调优（批次 7）。维护期间以下服务将**暂停**：

- 订单查询与导出
- 退款审核与财务对账报表
- 商家后台的批量改价

其他业务不受影响。请各业务线提前做好安排，避免在维护窗口内发起批量操作；已排期的定时任务请顺延到 04:30 以后。如遇紧急问题，请联系值班工程师（分机 8080）或在运维群内 @值班。

维护完成后我们会在本群发布恢复通知。感谢大家的理解与配合！
`

// BenchmarkRenderDelivery is the delivery path under load: the document
// is parsed once per announcement (the router caches it) and rendered once
// per target, so each style is measured without the parse; "parse" is the
// parse alone, paid once per announcement.
func BenchmarkRenderDelivery(b *testing.B) {
	a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte(benchAnnouncement), time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	doc := transform.Parse(a)
	for _, style := range []string{transform.StyleShort, transform.StyleLong, transform.StyleFormal} {
		d := groupcast.Destination{Style: style}
		b.Run(style, func(b *testing.B) {
			if r, err := doc.Render(d, now); err != nil || r.Text == "" {
				b.Fatalf("render %s: %q %v", style, r.Text, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := doc.Render(d, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = transform.Parse(a)
		}
	})
}
