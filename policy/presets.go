package policy

// preset is a maintained list of terms a rule can name with `preset:`.
//
// A preset matches whole terms: at each place in a text the longest term or
// allowed phrase that starts there wins, overlapping matches are one hit
// (reported by the longest term among them), and a term that begins or ends
// with a Latin letter or digit must not continue a word or number there
// ("TOP1" is not in "TOP10", "NO.1" not in "no.12"). Chinese has no spaces,
// so for Chinese the boundaries are written into the lists: words that are
// claims only in some company ("第一", "最高", "绝对", "100%") are listed
// as the claims they make ("销量第一", "性价比最高", "绝对正品",
// "100%纯天然"), and words that are claims by themselves but also occur in
// everyday phrases ("最佳", "最强", "国家级") have those phrases in Allow.
type preset struct {
	// Terms are matched case- and width-insensitively for Latin letters and
	// digits (NO.1 = no.1 = ＮＯ．１).
	Terms []string
	// Allow are everyday phrases that contain a term but are not the claim
	// the law is about ("最佳实践", "最强冷空气", "最高级别"). A term hit lying
	// wholly inside an allowed phrase is no hit; a longer term still is
	// ("绝对值得" is a claim though "绝对值" is allowed).
	Allow []string
}

// presets lists every preset by the name a rule uses.
var presets = map[string]preset{
	"ad-law": adLaw,
}

// cross returns every head followed by every tail.
func cross(heads, tails []string) []string {
	out := make([]string, 0, len(heads)*len(tails))
	for _, h := range heads {
		for _, t := range tails {
			out = append(out, h+t)
		}
	}
	return out
}

// join concatenates lists.
func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// adLaw: the absolute claims the Advertising Law of the PRC forbids in
// advertising, as regulators and platforms apply them. docs/policy.md
// explains the list and its sources:
//
//   - Advertising Law (2015 revision, amended 2018 and 2021), Article 9
//     item 3: an advertisement must not use "national-level", "highest
//     grade", "best" or similar terms; Article 57 sets the penalty.
//   - Same law, Article 25 item 1: investment and finance advertising must
//     not promise returns or suggest the capital is safe (guaranteed
//     principal, no risk, guaranteed returns).
//   - SAMR's 2023 enforcement guideline on absolute terms in advertising:
//     terms with the same or a similar meaning are covered too; terms that
//     only inform (a best-before date, the best time to do something) or
//     that do not compare the advertised goods with others are not.
//
// Reviewed 2026. Keep the list to claims. Words too common in notices to
// block by themselves (最新, 最大, 最高, 最低, 第一, 唯一, 绝对, 首个, 首选,
// 完美, 100%) appear only in the combinations that make a claim; add more
// with `allow:` or a `terms:` rule where a route needs them.
var adLaw = preset{
	Terms: join(
		// 国家级 / 最高级 and their near-synonyms (Article 9 item 3).
		[]string{
			"国家级", "国际级", "世界级", "全球级", "宇宙级", "最高级",
			"顶级", "顶尖", "尖端", "极品", "极致", "终极", "巅峰", "至尊", "王牌",
		},
		// 最佳 and the 最- family: superlatives that claim the goods beat all others.
		[]string{
			"最佳", "最优", "最强", "最先进", "最便宜", "最实惠", "最划算", "最超值",
			"最低价", "最受欢迎", "最畅销", "最热销", "最流行", "最时尚", "最正宗",
			"最权威", "最专业", "最赚钱",
			"最高端", "最高档", "最高品质", "最高性价比", "性价比最高", "品质最高",
			"价格最低", "最低折扣", "最具性价比", "最好的产品", "最好的品牌",
			"全网最低价", "史上最低价", "全网最低", "史上最低", "史上最强", "全网最好",
		},
		// "the most … of all": 史上最…, 全网最…
		cross([]string{"史上", "全网", "全国", "全球", "世界", "全城", "行业", "同类", "宇宙"}, []string{"最"}),
		// 第一 / 唯一 / 首- as rank and first-of-its-kind claims.
		cross([]string{"销量", "全网", "全国", "全球", "世界", "中国", "亚洲", "行业", "品类",
			"类目", "人气", "口碑", "排名", "率"}, []string{"第一"}), // 率第一: 占有率第一; not 品质第一, a motto
		[]string{"第一品牌", "NO.1", "NO1", "NO 1", "TOP1", "TOP.1", "TOP 1", "首屈一指",
			"销量冠军", "冠军品牌", "领导品牌", "领袖品牌", "领先品牌"},
		cross([]string{"全国", "国内", "全球", "世界", "行业", "业内", "亚洲", "全省", "全市", "全城"},
			[]string{"首家", "首款", "首创", "首发", "唯一"}),
		[]string{"独家", "首创", "独一无二", "绝无仅有", "前无古人", "史无前例", "空前绝后", "填补国内空白"},
		cross([]string{"世界", "全球", "国际", "国内", "行业", "遥遥"}, []string{"领先"}),
		// 绝对 / 百分百 as guarantees of the goods (绝对 alone is everyday: 绝对不要).
		cross([]string{"绝对"}, []string{"正品", "真品", "低价", "有效", "划算", "超值", "满意",
			"放心", "领先", "值得", "好用", "保证", "优惠", "便宜", "品质", "第一", "纯正", "健康"}),
		cross([]string{"100%", "百分百", "百分之百"}, []string{"正品", "有效", "纯天然", "纯正", "天然", "安全",
			"满意", "好评", "成功", "保证", "真品", "原装", "治愈", "中奖", "无添加", "回本"}),
		cross([]string{"好评率", "有效率", "治愈率", "中奖率", "回头率", "提分率", "录取率", "升学率", "见效率"}, []string{"100%", "百分百", "百分之百"}),
		[]string{"万能", "无敌", "零缺陷", "完美无瑕", "完美无缺"},
		// Finance (Article 25 item 1): promised returns and safe capital.
		[]string{"保本", "稳赚", "包赚", "躺赚", "零风险", "保收益", "保证收益",
			"稳赚不赔", "只赚不赔", "包赚不赔", "收益翻倍", "保本保息",
			"无风险投资", "无风险理财", "投资无风险", "理财无风险", "无风险收益", "无风险高收益"},
	),
	Allow: []string{
		// Consumer hints the 2023 guideline names as not absolute, and
		// everyday "best" phrases of notices and internal awards.
		"最佳实践", "最佳方法", "最佳方式", "最佳时间", "最佳时机", "最佳保质期",
		"最佳观赏", "最佳观测", "获得最佳", "最佳效果", "最佳状态", "最佳分辨率",
		"行业最佳实践",
		"最佳团队", "最佳员工", "最佳新人", "最佳讲师", "最佳导师", "最佳个人",
		"最优路径", "最优解", "最优化", "最优配置", "最优调度",
		// Weather and emergencies.
		"最强台风", "最强冷空气", "最强寒潮", "最强降雨", "最强暴雨", "最强降雪",
		"最强降温", "最强雷暴", "最强沙尘", "最强厄尔尼诺",
		"最高级别", "全国最高气温", "全国最低气温", "全国最高温", "全国最低温",
		"全球最高气温", "全球最低气温", "国家级重大活动", "国家级重保", "国家级应急",
		// Official titles that state a fact rather than rank the goods.
		"国家级自然保护区", "国家级高新技术企业", "国家级专精特新", "国家级非物质文化遗产",
		// Technical terms.
		"顶级域名", "顶级目录", "顶级菜单", "顶级节点", "顶级分类",
		"万能钥匙", "万能表",
	},
}
