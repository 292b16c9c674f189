package outbox

import "sync"

// HoldHandOffs makes w hand the rows of its commits to r only when the
// returned function is called: a hand-over that comes late.
func HoldHandOffs(w *Writer, r *Relay) (release func()) {
	var mu sync.Mutex
	var held [][]row
	w.WakeOnCommit(func() {}, nil, "registration")
	w.handOff = func(rows []row) {
		mu.Lock()
		held = append(held, rows)
		mu.Unlock()
	}
	return func() {
		mu.Lock()
		h := held
		held = nil
		mu.Unlock()
		for _, rows := range h {
			r.handOff(rows)
		}
	}
}
