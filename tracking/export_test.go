package tracking

// ClientsKept is how many per-client limiters h holds.
func ClientsKept(h *Handler) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.cur) + len(h.prev)
}
