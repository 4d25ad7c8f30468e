package messaging

// fifo is an unbounded slice-backed queue; the lanes that own one bound it
// in bytes. Not safe for concurrent use.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(t T) { q.items = append(q.items, t) }

func (q *fifo[T]) pop() (T, bool) {
	var zero T
	if q.head == len(q.items) {
		return zero, false
	}
	t := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return t, true
}

// filter keeps the items for which keep returns true, in order.
func (q *fifo[T]) filter(keep func(T) bool) {
	n := 0
	for _, t := range q.items[q.head:] {
		if keep(t) {
			q.items[n] = t
			n++
		}
	}
	clear(q.items[n:])
	q.items, q.head = q.items[:n], 0
}

// drain removes and returns every item.
func (q *fifo[T]) drain() []T {
	out := q.items[q.head:]
	q.items, q.head = nil, 0
	return out
}
