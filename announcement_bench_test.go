package groupcast_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

// benchBody is a realistic Markdown notice of about 4.5 KB: headings, a
// list, bold text, links, mostly Chinese.
func benchBody() string {
	var b strings.Builder
	b.WriteString("各位同事：\n\n")
	for i := 1; b.Len() < 4400; i++ {
		fmt.Fprintf(&b, "## 第 %d 项：订单中心数据库升级\n\n", i)
		b.WriteString("为提升订单系统的稳定性和查询性能，运维中心定于 **12 月 1 日凌晨 02:00 至 04:00** 进行版本升级。" +
			"维护期间以下服务将**暂停**：\n\n- 订单查询与导出\n- 退款审核与财务对账报表\n- 商家后台的批量改价\n\n" +
			"详情见 [维护公告](https://status.example.com/maint)，如有疑问请联系值班工程师。\n\n")
	}
	return b.String()
}

var benchFront = map[string]any{
	"id":       "maint-2026-12-01",
	"title":    "【系统维护】订单中心数据库升级通知",
	"category": "notice",
	"priority": "normal",
	"tags":     []string{"ops", "database", "order"},
	"summary":  "12 月 1 日凌晨订单中心数据库升级，部分服务暂停两小时。",
	"send_at":  "2026-11-30T20:00:00+08:00",
	"links":    []map[string]string{{"title": "维护详情", "url": "https://status.example.com/maint"}},
	"author":   "运维中心",
}

func benchInputs(b *testing.B) map[groupcast.Format][]byte {
	b.Helper()
	body := benchBody()
	md := `---
id: maint-2026-12-01
title: 【系统维护】订单中心数据库升级通知
category: notice
priority: normal
tags: [ops, database, order]
summary: 12 月 1 日凌晨订单中心数据库升级，部分服务暂停两小时。
send_at: 2026-11-30T20:00:00+08:00
links:
  - {title: 维护详情, url: "https://status.example.com/maint"}
author: 运维中心
---
` + body
	doc := map[string]any{"body": body}
	for k, v := range benchFront {
		doc[k] = v
	}
	js, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	var y strings.Builder
	y.WriteString(strings.SplitN(md, "---\n", 3)[1])
	y.WriteString("body: |\n")
	for _, line := range strings.Split(body, "\n") {
		if line == "" {
			y.WriteString("\n")
			continue
		}
		y.WriteString("  " + line + "\n")
	}
	return map[groupcast.Format][]byte{
		groupcast.FormatMarkdown: []byte(md),
		groupcast.FormatJSON:     js,
		groupcast.FormatYAML:     []byte(y.String()),
	}
}

// BenchmarkParse is the intake's first step for each POST /v1/messages:
// decode, validate and normalise a ~5 KB announcement in each format.
func BenchmarkParse(b *testing.B) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	inputs := benchInputs(b)
	for _, f := range []groupcast.Format{groupcast.FormatMarkdown, groupcast.FormatJSON, groupcast.FormatYAML} {
		data := inputs[f]
		b.Run(string(f), func(b *testing.B) {
			a, err := groupcast.Parse(f, data, now)
			if err != nil {
				b.Fatal(err)
			}
			if len(a.Body) < 4000 || len(a.Tags) != 3 || a.SendAt == nil {
				b.Fatalf("parsed %d-byte body, tags %v, send_at %v", len(a.Body), a.Tags, a.SendAt)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := groupcast.Parse(f, data, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDigest is the idempotency hash Submit takes of every announcement.
func BenchmarkDigest(b *testing.B) {
	a, err := groupcast.Parse(groupcast.FormatMarkdown, benchInputs(b)[groupcast.FormatMarkdown], time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Digest()
	}
}
