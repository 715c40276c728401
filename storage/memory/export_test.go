package memory

// Len returns how many chats the store keeps an entry for.
func Len(s *StateStore) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chats)
}
