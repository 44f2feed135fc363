// Package tracking makes tracked links and counts their clicks
// (docs/group-operations.md).
//
// With tracking.base_url set, the router renders each target's text with
// every link written as <base_url>/l/<code> (Rewriter), and stores what
// each code stands for before the text goes out. A code is the first bits
// of an HMAC, under a secret the store keeps, of the announcement, the
// target and the URL: short (12 characters), unguessable, and the same
// every time the same target's text is rendered, so a retry or a resumed
// multi-part send carries the same links.
//
// Handler answers GET /l/{code}: a 302 to the original URL, and a click
// counted for the announcement, target and variant unless the request is
// not a person's (HEAD, a declared prefetch or preview, a known link
// previewer or crawler by User-Agent) or repeats the same client's click
// on the same link within the window. Report adds the clicks up per
// target, variant and platform against the deliveries.
package tracking
