package transform

import (
	"bytes"
	"fmt"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/groupcast/groupcast"
)

// Limits on the Markdown of a body. The Markdown parser spends time
// quadratic in some counts (emphasis markers and brackets in one paragraph,
// the columns times the rows of a table, the depth of quotes and lists on
// one line), and the styles copy nested text once per level. Within these
// limits parsing and rendering are linear in the size of the body; past
// them the body is refused (Check, HTTP 422) rather than rendered slowly.
// No announcement a person writes comes near them.
const (
	// MaxBodyBytes is the largest body rendered, in bytes of UTF-8.
	MaxBodyBytes = 256 << 10
	// MaxNesting is how deep quotes, lists, emphasis, strikethrough, links
	// and images may be inside one another.
	MaxNesting = 32
	// MaxDelimiters is how many runs of *, _ or ~ one paragraph, heading
	// or table cell may hold.
	MaxDelimiters = 256
	// MaxBrackets is how many [, ![ and ] one paragraph may hold.
	MaxBrackets = 256
	// MaxTableCells is how many cells (columns × rows, short rows counted
	// full) the tables of one body may have together.
	MaxTableCells = 5_000
	// MaxReferences is how many lines of one paragraph may start with "["
	// (link reference definitions, "[a]: https://…", are such lines).
	MaxReferences = 256
)

// Codes of the *groupcast.InputError a body over a limit gets; the HTTP
// API answers both with 422.
const (
	CodeTooLong    = "too_long"
	CodeTooComplex = "too_complex"
)

// Check reports whether body can be rendered: nil, or an *groupcast.InputError
// with code too_long or too_complex naming the field "body" and the limit.
// It parses the body, so it costs what one Parse costs.
func Check(body string) error {
	if err := tooLong(body); err != nil {
		return err
	}
	_, _, err := parseMarkdown([]byte(body))
	return err
}

func tooLong(body string) error {
	if len(body) > MaxBodyBytes {
		return limitError(CodeTooLong, fmt.Sprintf("the Markdown body is %d bytes, at most %d (%d KiB) are rendered",
			len(body), MaxBodyBytes, MaxBodyBytes>>10))
	}
	return nil
}

func limitError(code, msg string) *groupcast.InputError {
	return &groupcast.InputError{Code: code, Fields: []*groupcast.FieldError{{Field: "body", Message: msg}}}
}

// markdown parses bodies within the limits: the default parsers of
// CommonMark and the GFM extensions the styles know (tables,
// strikethrough, task lists, linkify), the ones that can cost more than
// linear time wrapped by counters. A parser keeps no state between calls,
// so one serves every goroutine.
var markdown = newParser()

func newParser() parser.Parser {
	// goldmark's defaults and the extensions' parsers, at their priorities.
	blocks := []util.PrioritizedValue{
		util.Prioritized(parser.NewSetextHeadingParser(), 100),
		util.Prioritized(parser.NewThematicBreakParser(), 200),
		util.Prioritized(nestingBlock{parser.NewListParser()}, 300),
		util.Prioritized(parser.NewListItemParser(), 400), // continues what the list parser opened
		util.Prioritized(parser.NewCodeBlockParser(), 500),
		util.Prioritized(parser.NewATXHeadingParser(), 600),
		util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
		util.Prioritized(nestingBlock{parser.NewBlockquoteParser()}, 800),
		util.Prioritized(parser.NewHTMLBlockParser(), 900),
		util.Prioritized(parser.NewParagraphParser(), 1000),
	}
	link := parser.NewLinkParser()
	inlines := []util.PrioritizedValue{
		util.Prioritized(extension.NewTaskCheckBoxParser(), 0),
		util.Prioritized(parser.NewCodeSpanParser(), 100),
		util.Prioritized(countedLink{countedInline{link, bracketCount}, link.(parser.CloseBlocker)}, 200),
		util.Prioritized(parser.NewAutoLinkParser(), 300),
		util.Prioritized(parser.NewRawHTMLParser(), 400),
		util.Prioritized(countedInline{parser.NewEmphasisParser(), delimiterCount}, 500),
		util.Prioritized(countedInline{extension.NewStrikethroughParser(), delimiterCount}, 500),
		util.Prioritized(extension.NewLinkifyParser(), 999),
	}
	return parser.NewParser(
		parser.WithBlockParsers(blocks...),
		parser.WithInlineParsers(inlines...),
		parser.WithParagraphTransformers(
			util.Prioritized(boundedReferences{parser.LinkReferenceParagraphTransformer}, 100),
			util.Prioritized(boundedTable{extension.NewTableParagraphTransformer()}, 200),
		),
		parser.WithASTTransformers(util.Prioritized(extension.NewTableASTTransformer(), 0)),
	)
}

// parseMarkdown parses src within the limits. Past a limit the parse goes
// on, cheaply (the rest of the markup is read as text), and err says which
// limit was passed: the tree is then not fit to render.
func parseMarkdown(src []byte) (root ast.Node, depth int, err error) {
	pc := parser.NewContext()
	st := &limitState{}
	pc.Set(limitKey, st)
	root = markdown.Parse(text.NewReader(src), parser.WithContext(pc))
	if st.err != nil {
		return root, 0, st.err
	}
	depth = nestingDepth(root)
	if depth > MaxNesting {
		return root, depth, limitError(CodeTooComplex, fmt.Sprintf(
			"Markdown nested %d levels deep (quotes, lists, emphasis, links inside one another), at most %d", depth, MaxNesting))
	}
	return root, depth, nil
}

var limitKey = parser.NewContextKey()

// limitState counts, in one parse, what the limits bound.
type limitState struct {
	err      error
	block    ast.Node // the block whose inlines are being counted
	delims   int
	brackets int
	cells    int // table cells so far, in every table
}

func stateOf(pc parser.Context) *limitState {
	if st, ok := pc.Get(limitKey).(*limitState); ok {
		return st
	}
	return &limitState{} // a context not made by parseMarkdown: count anyway
}

func (st *limitState) fail(msg string) {
	if st.err == nil {
		st.err = limitError(CodeTooComplex, msg)
	}
}

// counter picks the count an inline parser adds to and its limit.
type counter func(st *limitState) (n *int, max int, what string)

func delimiterCount(st *limitState) (*int, int, string) {
	return &st.delims, MaxDelimiters, "runs of *, _ or ~"
}

func bracketCount(st *limitState) (*int, int, string) {
	return &st.brackets, MaxBrackets, "link or image brackets"
}

// countedInline lets an inline parser act at most max times per block;
// past that its trigger characters are text.
type countedInline struct {
	parser.InlineParser
	count counter
}

func (p countedInline) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	st := stateOf(pc)
	if st.err != nil {
		return nil // refused already: the rest is text, cheaply
	}
	if st.block != parent {
		st.block, st.delims, st.brackets = parent, 0, 0
	}
	n, limit, what := p.count(st)
	if *n >= limit {
		st.fail(fmt.Sprintf("more than %d %s in one paragraph", limit, what))
		return nil
	}
	node := p.InlineParser.Parse(parent, block, pc)
	if d, ok := node.(*parser.Delimiter); ok && !d.CanOpen && !d.CanClose {
		return node // snake_case: a run that can neither open nor close costs no match
	}
	// Every attempt counts, made or not: a "](" that makes no link has
	// cost a scan for its ")" all the same.
	*n++
	return node
}

// countedLink is the counted link parser, which also cleans up when its
// block closes.
type countedLink struct {
	countedInline
	closer parser.CloseBlocker
}

func (p countedLink) CloseBlock(parent ast.Node, block text.Reader, pc parser.Context) {
	p.closer.CloseBlock(parent, block, pc)
}

// nestingBlock refuses to open a quote or list deeper than MaxNesting
// containers; the line is then a paragraph.
type nestingBlock struct {
	parser.BlockParser
}

func (p nestingBlock) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	if parent.Kind() == ast.KindList {
		// Only items go in a list: asked to open there, the parsers
		// decline, and the item parser opens the item.
		return p.BlockParser.Open(parent, reader, pc)
	}
	depth := 1
	for n := parent; n != nil && depth <= MaxNesting; n = n.Parent() {
		if nests(n) {
			depth++
		}
	}
	if depth > MaxNesting {
		stateOf(pc).fail(fmt.Sprintf("quotes and lists nested more than %d levels deep", MaxNesting))
		return nil, parser.NoChildren
	}
	return p.BlockParser.Open(parent, reader, pc)
}

// nests reports whether n counts toward MaxNesting.
func nests(n ast.Node) bool {
	switch n.Kind() {
	case ast.KindBlockquote, ast.KindList, ast.KindEmphasis, ast.KindLink, ast.KindImage, east.KindStrikethrough:
		return true
	}
	return false
}

// nestingDepth is the deepest chain of nesting nodes in the tree.
func nestingDepth(root ast.Node) int {
	deepest, depth := 0, 0
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !nests(n) {
			return ast.WalkContinue, nil
		}
		if entering {
			depth++
			deepest = max(deepest, depth)
		} else {
			depth--
		}
		return ast.WalkContinue, nil
	})
	return deepest
}

// boundedTable leaves a paragraph that would become a table of more than
// MaxTableCells cells a paragraph: the table parser pads every short row
// to the header's width, so a wide header over many "|" lines would make
// columns × rows cells from a few bytes each.
type boundedTable struct {
	parser.ParagraphTransformer
}

func (t boundedTable) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	src := reader.Source()
	for i := 1; i < lines.Len(); i++ {
		seg := lines.At(i)
		cols := delimiterRowCells(seg.Value(src))
		if cols == 0 {
			continue
		}
		st := stateOf(pc)
		rows := lines.Len() - i
		if st.cells += cols * rows; st.cells > MaxTableCells {
			st.fail(fmt.Sprintf("tables of more than %d cells in all (this one has %d columns and %d rows)", MaxTableCells, cols, rows))
			return
		}
		break
	}
	t.ParagraphTransformer.Transform(node, reader, pc)
}

// boundedReferences leaves alone a paragraph with more than MaxReferences
// lines that could start a link reference definition: the parser removes
// each definition by copying the lines after it.
type boundedReferences struct {
	parser.ParagraphTransformer
}

func (t boundedReferences) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	src := reader.Source()
	refs := 0
	for i := range lines.Len() {
		seg := lines.At(i)
		if bytes.HasPrefix(bytes.TrimLeft(seg.Value(src), " \t"), []byte("[")) {
			refs++
		}
	}
	if refs > MaxReferences {
		stateOf(pc).fail(fmt.Sprintf("more than %d lines starting with [ in one paragraph", MaxReferences))
		return
	}
	if lines.Len() > 0 {
		// Definitions only open a paragraph, with "[" after the blanks
		// the parser skips: most paragraphs need no reader to say so.
		seg := lines.At(0)
		if first := bytes.TrimLeft(seg.Value(src), " \t\r\n"); len(first) > 0 && first[0] != '[' {
			return
		}
	}
	t.ParagraphTransformer.Transform(node, reader, pc)
}

// delimiterRowCells is the number of cells of a GFM table delimiter row
// ("| :-- | --: |"), or 0 if line is not one.
func delimiterRowCells(line []byte) int {
	line = bytes.TrimSpace(line)
	line = bytes.TrimPrefix(line, []byte("|"))
	line = bytes.TrimSuffix(line, []byte("|"))
	if len(line) == 0 {
		return 0
	}
	cells := 0
	for cell := range bytes.SplitSeq(line, []byte("|")) {
		c := bytes.TrimSpace(cell)
		c = bytes.TrimPrefix(c, []byte(":"))
		c = bytes.TrimSuffix(c, []byte(":"))
		if len(c) == 0 || len(bytes.Trim(c, "-")) != 0 {
			return 0
		}
		cells++
	}
	return cells
}
