// Package natstest runs a real NATS JetStream cluster on loopback for tests:
// three (or more) nats-server nodes with routes between them, JetStream
// file storage in a directory of their own, random ports. A node can be
// killed (Shutdown) and restarted with the same name, ports and store dir,
// so tests can take the meta leader or a stream leader away.
//
// In a test, Start(t) does everything and cleans up. Outside one (a
// TestMain, a helper command that runs the cluster for child processes),
// NewPlan picks the ports and directories, StartCluster starts every node
// in this process, and StartNode starts one node of a plan, so each node
// can also run in a process of its own (the plan is JSON).
package natstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ClusterName is the NATS cluster name every node of a plan joins.
const ClusterName = "groupcast-test"

// Plan is where the nodes of a cluster listen and keep their files. It is
// fixed for the cluster's life, so a restarted node comes back as itself.
type Plan struct {
	Cluster string     `json:"cluster"`
	Nodes   []NodeSpec `json:"nodes"`
}

// NodeSpec is one node of a plan.
type NodeSpec struct {
	Name        string `json:"name"`
	ClientPort  int    `json:"client_port"`
	ClusterPort int    `json:"cluster_port"`
	StoreDir    string `json:"store_dir"`
}

// ClientURL is the node's nats:// URL.
func (n NodeSpec) ClientURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.ClientPort) }

// NewPlan picks free loopback ports for n nodes and a store directory for
// each under dir.
func NewPlan(dir string, n int) (Plan, error) {
	if n < 1 {
		return Plan{}, errors.New("natstest: need at least one node")
	}
	p := Plan{Cluster: ClusterName}
	ports, err := freePorts(2 * n)
	if err != nil {
		return Plan{}, err
	}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		sd := filepath.Join(dir, name)
		if err := os.MkdirAll(sd, 0o700); err != nil {
			return Plan{}, fmt.Errorf("natstest: %w", err)
		}
		p.Nodes = append(p.Nodes, NodeSpec{Name: name, ClientPort: ports[2*i], ClusterPort: ports[2*i+1], StoreDir: sd})
	}
	return p, nil
}

// freePorts holds n listeners open at once, so the ports differ, then
// closes them. Another process could take one in between; on loopback in a
// test that is rare enough.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("natstest: free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// URLs are the client URLs of every node.
func (p Plan) URLs() []string {
	out := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		out[i] = n.ClientURL()
	}
	return out
}

// ServerOptions are node i's nats-server options: JetStream with file
// storage in its store dir, a route to every node, no signals, no log.
// Change them (TLS, users) before StartNode through Options.Configure.
func (p Plan) ServerOptions(i int) *server.Options {
	n := p.Nodes[i]
	routes := make([]*url.URL, 0, len(p.Nodes))
	for _, o := range p.Nodes {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", o.ClusterPort)})
	}
	return &server.Options{
		ServerName:         n.Name,
		Host:               "127.0.0.1",
		Port:               n.ClientPort,
		JetStream:          true,
		StoreDir:           n.StoreDir,
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		NoSigs:             true,
		NoLog:              true,
		Cluster:            server.ClusterOpts{Name: p.Cluster, Host: "127.0.0.1", Port: n.ClusterPort},
		Routes:             routes,
	}
}

// Marshal and UnmarshalPlan carry a plan to a child process.
func (p Plan) Marshal() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// UnmarshalPlan reads what Marshal wrote.
func UnmarshalPlan(s string) (Plan, error) {
	var p Plan
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return Plan{}, fmt.Errorf("natstest: plan: %w", err)
	}
	return p, nil
}

// StartNode starts node i of the plan in this process and waits until it
// accepts connections (not until the cluster has a leader: that needs a
// majority of the nodes). configure, if not nil, changes the options first.
func StartNode(p Plan, i int, configure func(i int, o *server.Options)) (*server.Server, error) {
	o := p.ServerOptions(i)
	if configure != nil {
		configure(i, o)
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("natstest: node %s: %w", p.Nodes[i].Name, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("natstest: node %s not ready within 30s", p.Nodes[i].Name)
	}
	return srv, nil
}

// Options configure StartCluster.
type Options struct {
	// Nodes is the cluster size (default 3).
	Nodes int
	// Dir holds the nodes' store directories (required outside Start).
	Dir string
	// Configure, if not nil, changes a node's options before it starts:
	// TLS, users, accounts. It is called again on every Restart.
	Configure func(i int, o *server.Options)
}

// Cluster is a running cluster of in-process nodes.
type Cluster struct {
	Plan      Plan
	configure func(int, *server.Options)

	mu    sync.Mutex
	nodes []*server.Server // nil while a node is down
}

// StartCluster starts every node of a new plan in this process and waits,
// bounded by ctx, until JetStream has a meta leader. The caller must call
// Shutdown.
func StartCluster(ctx context.Context, o Options) (*Cluster, error) {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Dir == "" {
		return nil, errors.New("natstest: Options.Dir is required")
	}
	p, err := NewPlan(o.Dir, o.Nodes)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Plan: p, configure: o.Configure, nodes: make([]*server.Server, o.Nodes)}
	// Start every node before waiting for any: a node is ready for clients
	// at once, the meta group needs a majority.
	for i := range p.Nodes {
		srv, err := StartNode(p, i, o.Configure)
		if err != nil {
			c.Shutdown()
			return nil, err
		}
		c.nodes[i] = srv
	}
	if _, err := c.WaitMetaLeader(ctx); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// Start starts a 3-node cluster (or o.Nodes) for the test, with store
// directories under t.TempDir(), and shuts it down when the test ends.
func Start(t testing.TB, o ...Options) *Cluster {
	t.Helper()
	var opt Options
	if len(o) > 0 {
		opt = o[0]
	}
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// URLs are the client URLs of every node, up or down.
func (c *Cluster) URLs() []string { return c.Plan.URLs() }

// URL is URLs joined by commas, as store.url takes them.
func (c *Cluster) URL() string { return strings.Join(c.URLs(), ",") }

// Len is the number of nodes.
func (c *Cluster) Len() int { return len(c.Plan.Nodes) }

// Server is node i, or nil while it is down.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Kill stops node i (Shutdown: connections and routes close at once, the
// store stays on disk). Killing a node that is down does nothing.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	srv := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Restart starts node i again with the same name, ports and store dir. It
// returns once the node accepts connections; call WaitMetaLeader or
// WaitStreamLeader to wait for the cluster to settle.
func (c *Cluster) Restart(i int) error {
	c.Kill(i)
	srv, err := StartNode(c.Plan, i, c.configure)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.nodes[i] = srv
	c.mu.Unlock()
	return nil
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.nodes {
		c.Kill(i)
	}
}

// MetaLeader is the index of the node that leads the JetStream meta group,
// or -1 when none does (an election is under way).
func (c *Cluster) MetaLeader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, srv := range c.nodes {
		if srv != nil && srv.JetStreamIsLeader() {
			return i
		}
	}
	return -1
}

// StreamLeader is the index of the node that leads stream in account ("":
// the default account $G), or -1.
func (c *Cluster) StreamLeader(account, stream string) int {
	if account == "" {
		account = server.DEFAULT_GLOBAL_ACCOUNT
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, srv := range c.nodes {
		if srv != nil && srv.JetStreamIsStreamLeader(account, stream) {
			return i
		}
	}
	return -1
}

// WaitMetaLeader waits until a node leads the meta group and every running
// node agrees it is current, and returns the leader's index.
func (c *Cluster) WaitMetaLeader(ctx context.Context) (int, error) {
	return c.wait(ctx, "meta leader", func() int {
		l := c.MetaLeader()
		if l < 0 {
			return -1
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, srv := range c.nodes {
			if srv != nil && !srv.JetStreamIsCurrent() {
				return -1
			}
		}
		return l
	})
}

// WaitStreamLeader waits until a node leads the stream and returns its
// index.
func (c *Cluster) WaitStreamLeader(ctx context.Context, account, stream string) (int, error) {
	return c.wait(ctx, "leader of stream "+stream, func() int { return c.StreamLeader(account, stream) })
}

// wait polls: the server has no leader-change callback to hook into.
func (c *Cluster) wait(ctx context.Context, what string, f func() int) (int, error) {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if i := f(); i >= 0 {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("natstest: no %s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// RunNode runs node i of the plan in this process until ctx ends, then
// shuts it down. It is the body of a helper process that runs one node,
// so that a test can kill -9 or SIGSTOP a node for real: the parent makes
// the plan (NewPlan), passes Marshal's text to each child (an argument or
// an environment variable), and each child calls UnmarshalPlan and
// RunNode. The parent waits for the cluster by connecting and asking
// JetStream, as a client would.
func RunNode(ctx context.Context, p Plan, i int, configure func(i int, o *server.Options)) error {
	srv, err := StartNode(p, i, configure)
	if err != nil {
		return err
	}
	<-ctx.Done()
	srv.Shutdown()
	srv.WaitForShutdown()
	return nil
}
