package outbox

import (
	"context"
	"log/slog"
	"time"
)

// Writer stores the outcomes of sends. Outcomes that arrive within a
// moment of each other share one write, so a burst of finished sends
// costs one commit; a worker waits for its outcome to be stored (Commit)
// before it takes the next message, so that at most one message per
// worker can be lost to a kill -9 between the answer and the store.
type Writer[T any] struct {
	write  func(ctx context.Context, batch []T) error
	log    *slog.Logger
	gather int
	in     chan writeReq[T]
	done   chan struct{}
}

type writeReq[T any] struct {
	items []T
	done  chan struct{} // nil: nobody waits
}

// gatherFor bounds how long the writer waits for more outcomes before it
// writes: a commit costs far more than a row, and a worker waiting 2 ms
// more for its acknowledgement costs nothing at the rates nashra sends at.
// Once gather requests wait (every worker), it writes at once.
const gatherFor = 2 * time.Millisecond

// writeAttempts bounds the retries of a failing store: about a minute and
// a half; after that the outcomes are lost and those rows, still claimed,
// are sent again once their claim ends.
const writeAttempts = 20

// NewWriter starts a writer that stores batches with write, gathering the
// outcomes of up to gather workers. Close it when the workers are done.
func NewWriter[T any](write func(ctx context.Context, batch []T) error, gather int, log *slog.Logger) *Writer[T] {
	w := &Writer[T]{write: write, log: log, gather: max(gather, 1), in: make(chan writeReq[T], 1024), done: make(chan struct{})}
	go w.run()
	return w
}

// Commit stores items and returns once they are stored (or given up).
func (w *Writer[T]) Commit(items ...T) {
	done := make(chan struct{})
	w.in <- writeReq[T]{items: items, done: done}
	<-done
}

// Submit stores items without waiting: they are about rows not sent.
func (w *Writer[T]) Submit(items ...T) {
	if len(items) > 0 {
		w.in <- writeReq[T]{items: items}
	}
}

// Close returns once what was committed or submitted is stored. Nothing
// may be committed or submitted after.
func (w *Writer[T]) Close() {
	close(w.in)
	<-w.done
}

func (w *Writer[T]) run() {
	defer close(w.done)
	timer := time.NewTimer(gatherFor)
	defer timer.Stop()
	for req := range w.in {
		batch := []writeReq[T]{req}
		timer.Reset(gatherFor)
	gather:
		for len(batch) < w.gather {
			select {
			case r, ok := <-w.in:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			case <-timer.C:
				break gather
			}
		}
		var items []T
		for _, r := range batch {
			items = append(items, r.items...)
		}
		w.store(items)
		for _, r := range batch {
			if r.done != nil {
				close(r.done)
			}
		}
	}
}

// store writes items, retrying a failing store with a growing wait.
func (w *Writer[T]) store(items []T) {
	if len(items) == 0 {
		return
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.write(ctx, items)
		cancel()
		if err == nil {
			return
		}
		if attempt == writeAttempts {
			w.log.Error("outcomes lost: these rows may be sent again", "outcomes", len(items), "err", err)
			return
		}
		w.log.Warn("cannot store outcomes; retrying", "attempt", attempt+1, "err", err)
		time.Sleep(Backoff(attempt+1, 100*time.Millisecond, 5*time.Second))
	}
}
