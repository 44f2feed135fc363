package main

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// storedMessages sums the last sequence of every stream in the store at
// url: how many messages it has taken since it was created.
func storedMessages(ctx context.Context, url string) (uint64, error) {
	if url == "" {
		return 0, errors.New("the store is not reachable from the bench")
	}
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var sum uint64
	l := js.ListStreams(ctx)
	for info := range l.Info() {
		sum += info.State.LastSeq
	}
	return sum, l.Err()
}
