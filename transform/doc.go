// Package transform writes one announcement the way each platform's groups
// expect it (docs/styles.md), and cuts rendered text into parts a platform accepts.
//
// The Markdown body is parsed once into a goldmark AST (with the GFM table,
// strikethrough, task-list and linkify extensions) and every style walks
// that tree:
//
//   - short (WeChat): plain text; the title, the summary or the body's
//     leading sentences within max_chars characters, link lines "标题：URL",
//     and a pointer to the full text when shortened.
//   - long (QQ): the whole body as readable plain text: 【headings】, •
//     bullets, numbered lists, "text（url）" links, tables as aligned rows or
//     "列：值" lines, code verbatim, ▎ quotes, images as Rendered.Images.
//   - formal (DingTalk): DingTalk's Markdown subset with a heading,
//     salutation, closing and a dated signature; no tables, no code fences,
//     no emoji, no exclamation marks.
//
// A target's template (Go text/template) replaces its style. Split is the
// shared splitter the platform drivers call with their own limits.
//
// Parsing is bounded (limits.go): a body over MaxBodyBytes, nested deeper
// than MaxNesting, or with more emphasis markers, brackets, reference lines
// or table cells than the parser handles in linear time is not rendered;
// Check reports it as a 422-class *groupcast.InputError on "body" before
// the announcement is accepted (docs/limits.md).
package transform
