package policy

// preset is a maintained list of terms a rule can name with `preset:`.
type preset struct {
	// Terms are matched as literal substrings, case- and width-insensitively
	// for Latin letters and digits (NO.1 = no.1 = ＮＯ.１).
	Terms []string
	// Allow are longer phrases that contain a term but are not the claim the
	// law is about (an ordinal "第一步", a technical "绝对路径"). A term hit
	// lying wholly inside an allowed phrase is no hit.
	Allow []string
}

// presets lists every preset by the name a rule uses.
var presets = map[string]preset{
	"ad-law": adLaw,
}

// adLaw: the absolute terms Chinese advertising law bans, as regulators and
// platforms apply them.
//
// Sources:
//   - 《中华人民共和国广告法》（2015年修订，2018、2021年修正）第九条第（三）项：
//     广告不得使用「国家级」「最高级」「最佳」等用语; penalties in 第五十七条.
//   - 同法第二十五条第（一）项: investment and finance advertising must not
//     promise returns or imply capital protection ("保本、无风险或者保收益").
//   - 国家市场监督管理总局《广告绝对化用语执法指南》（2023年3月）: the ban
//     covers 「国家级」「最高级」「最佳」以及与其含义相同或者近似的其他用语;
//     consumer hints such as "最佳方法、最佳时间、最佳保质期" are not
//     absolute claims (hence the Allow list).
//   - The "广告法禁用词" lists that e-commerce and social platforms publish
//     for sellers, which enforce the terms below as absolute claims.
//
// Reviewed 2026. Keep the list to claims: words that are also everyday
// ordinals or technical terms get an Allow entry instead of being dropped,
// and words too common in notices to block outright (最新, 最大, 永久) are
// left out; add them with a `terms:` rule where a route needs them.
var adLaw = preset{
	Terms: []string{
		// 国家级 / 最高级 and their near-synonyms (第九条第三项).
		"国家级", "国际级", "世界级", "全球级", "宇宙级", "最高级",
		"顶级", "顶尖", "尖端", "极品", "极致", "终极", "巅峰", "至尊",
		// 最佳 and the 最- family.
		"最佳", "最好", "最强", "最高", "最低", "最优", "最先进", "最便宜",
		"最低价", "最受欢迎", "最流行", "最时尚", "最具", "最先", "最赚",
		"史上最", "全网最低", "全网最", "全国最", "全球最", "世界最",
		// 第一 / 唯一 and the first-of-its-kind claims.
		"第一", "首个", "首家", "首选", "首发", "首创", "唯一", "独家",
		"独一无二", "绝无仅有", "前无古人", "史无前例", "空前绝后",
		"NO.1", "NO1", "TOP1", "TOP.1", "TOP 1",
		"销量冠军", "销量第一", "全网第一", "世界领先", "全球领先", "国内领先",
		"填补国内空白", "领导品牌", "领袖品牌", "王牌", "第一品牌",
		// 绝对 / 100% and guarantees.
		"绝对", "100%", "百分之百", "万能", "完美", "无敌", "零缺陷",
		// Finance (第二十五条): promised returns and capital protection.
		"保本", "稳赚", "包赚", "零风险", "无风险", "保收益", "保证收益",
		"稳赚不赔", "只赚不赔", "收益翻倍",
	},
	Allow: []string{
		// Ordinals: 第一 as "the first step / time / day …".
		"第一步", "第一次", "第一天", "第一周", "第一期", "第一批", "第一章",
		"第一节", "第一条", "第一轮", "第一季度", "第一阶段", "第一部分",
		"第一个", "第一时间", "第一页", "第一行", "第一列", "第一项",
		// Technical and everyday uses.
		"唯一标识", "唯一性", "唯一编号", "唯一编码", "唯一id",
		"绝对路径", "绝对值", "绝对地址", "顶级域名", "首发车", "首发站",
		"最低配置", "最低版本", "最低要求", "最高温度", "最低温度",
		// Consumer hints the 2023 guideline names as not absolute.
		"最佳方法", "最佳时间", "最佳保质期", "最佳实践",
	},
}
