package groupcast

import "context"

// principalKey is the context key of the caller's name.
type principalKey struct{}

// WithPrincipal returns ctx carrying the name of who is calling (the API
// sets the name of the token the request came with). The engine records it
// as who submitted an announcement.
func WithPrincipal(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, principalKey{}, name)
}

// PrincipalFrom is the name WithPrincipal put in ctx, or "" when none.
func PrincipalFrom(ctx context.Context) string {
	name, _ := ctx.Value(principalKey{}).(string)
	return name
}
