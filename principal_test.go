package groupcast_test

import (
	"context"
	"testing"

	"github.com/groupcast/groupcast"
)

func TestPrincipal(t *testing.T) {
	if got := groupcast.PrincipalFrom(context.Background()); got != "" {
		t.Errorf("no principal: %q", got)
	}
	ctx := groupcast.WithPrincipal(context.Background(), "li")
	if got := groupcast.PrincipalFrom(ctx); got != "li" {
		t.Errorf("principal = %q, want li", got)
	}
	if got := groupcast.PrincipalFrom(groupcast.WithPrincipal(ctx, "ci")); got != "ci" {
		t.Errorf("inner principal = %q, want ci", got)
	}
}
