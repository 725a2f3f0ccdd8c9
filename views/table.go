package views

import (
	"context"
	"fmt"
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/kafkaconfig"
)

// Table is a typed Goka view of a group table that a request can wait on: every update the
// view applies wakes the requests waiting for that key, which is how command endpoints answer
// with the state their command produced (read-your-writes) without polling.
type Table[T any] struct {
	View    *goka.View
	mu      sync.Mutex
	waiters map[string][]chan struct{}
}

// NewTable opens a view of a table.
func NewTable[T any](cl kafkaconfig.Cluster, table goka.Table) (*Table[T], error) {
	t := &Table[T]{waiters: map[string][]chan struct{}{}}
	v, err := goka.NewView(cl.Brokers, table, new(codecs.JSON[T]), cl.ViewOptions(table, goka.WithViewCallback(t.update))...)
	if err != nil {
		return nil, fmt.Errorf("view of %s: %w", table, err)
	}
	t.View = v
	return t, nil
}

func (t *Table[T]) update(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
	if err := goka.DefaultUpdate(ctx, s, key, value); err != nil {
		return err
	}
	t.mu.Lock()
	ws := t.waiters[key]
	delete(t.waiters, key)
	t.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
	return nil
}

// Get reads a row.
func (t *Table[T]) Get(key string) (T, bool, error) {
	var zero T
	v, err := t.View.Get(key)
	if err != nil || v == nil {
		return zero, false, err
	}
	return v.(T), true, nil
}

// WaitFor returns the row once done says it is what the caller waits for, or ctx's error.
func (t *Table[T]) WaitFor(ctx context.Context, key string, done func(row T, found bool) bool) (T, bool, error) {
	for {
		// Register before reading, so an update between the read and the wait is not missed.
		ch := make(chan struct{})
		t.mu.Lock()
		t.waiters[key] = append(t.waiters[key], ch)
		t.mu.Unlock()
		row, found, err := t.Get(key)
		if err != nil || done(row, found) {
			t.forget(key, ch)
			return row, found, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.forget(key, ch)
			return row, found, ctx.Err()
		}
	}
}

func (t *Table[T]) forget(key string, ch chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ws := t.waiters[key]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(t.waiters, key)
	} else {
		t.waiters[key] = ws
	}
}
