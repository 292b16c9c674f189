package bus

// BeginGivingUp marks partition p's pulls as given up without closing
// them: the moment between an instance giving a partition up and the
// server hearing that its pull is closed, which a loaded machine
// stretches, made as long as a test needs.
func (r *Router) BeginGivingUp(p int) {
	r.pmu.Lock()
	parted := r.parted
	r.pmu.Unlock()
	for _, s := range parted {
		s.mu.Lock()
		if pl := s.pulls[p]; pl != nil {
			pl.giving.Store(true)
		}
		s.mu.Unlock()
	}
}

// BeginStopping marks the router's subscriptions stopped without closing
// their pulls: the moment between a router's stop and its pulls' close.
func (r *Router) BeginStopping() {
	for _, s := range r.subs {
		s.stopped.Store(true)
	}
}
