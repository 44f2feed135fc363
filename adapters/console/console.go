// Package console is the demo driver: it prints each delivery to standard
// output as a readable block, for any platform.
package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
)

// Driver is the console driver's table entry.
var Driver = adapters.Driver{
	Name:       "console",
	DriverSpec: configs.DriverSpec{Groups: configs.GroupsOptional},
	New: func(acc configs.Account, env adapters.Env) (groupcast.Sender, error) {
		return &Console{account: acc, env: env.WithDefaults(), out: os.Stdout}, nil
	},
}

// Console writes deliveries to out.
type Console struct {
	account configs.Account
	env     adapters.Env
	out     io.Writer
}

// stdoutMu keeps blocks of several console accounts from interleaving.
var stdoutMu sync.Mutex

// New returns a console sender writing to out (tests).
func New(acc configs.Account, out io.Writer) *Console {
	return &Console{account: acc, env: adapters.Env{}.WithDefaults(), out: out}
}

func (c *Console) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	if err := c.env.Pacer.Wait(ctx); err != nil {
		return groupcast.Receipt{}, groupcast.Temporary("canceled", err)
	}
	now := c.env.Now()
	var b strings.Builder
	rule := strings.Repeat("─", 60)
	fmt.Fprintf(&b, "%s\n%s · %s · %s → %s  [%s]\n%s\n%s\n", rule, m.Announcement.ID, c.account.Platform,
		c.account.Name, m.Group, m.Rendered.Style, rule, strings.TrimRight(m.Rendered.Text, "\n"))
	for _, im := range m.Rendered.Images {
		fmt.Fprintf(&b, "[image] %s\n", im.URL)
	}
	stdoutMu.Lock()
	_, err := io.WriteString(c.out, b.String())
	stdoutMu.Unlock()
	if err != nil {
		return groupcast.Receipt{}, groupcast.Temporary("write", err)
	}
	return groupcast.Receipt{Parts: 1, MessageIDs: []string{fmt.Sprintf("console-%d", now.UnixNano())}, SentAt: now}, nil
}

// Recall prints a note: the console can take anything back.
func (c *Console) Recall(_ context.Context, group string, r groupcast.Receipt) error {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	_, err := fmt.Fprintf(c.out, "[recalled] %s → %s %v at %s\n", c.account.Name, group, r.MessageIDs, c.env.Now().Format(time.RFC3339))
	return err
}

var (
	_ groupcast.Sender   = (*Console)(nil)
	_ groupcast.Recaller = (*Console)(nil)
)
