package bot

// ChatsTracked returns how many chats the sender keeps a limiter for.
func ChatsTracked(s *Sender) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chats)
}
