package store

// OpenUserDBs is how many users/<name>.db handles the cache holds (for tests).
func (s *Store) OpenUserDBs() int {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	return s.users.lru.Len()
}
