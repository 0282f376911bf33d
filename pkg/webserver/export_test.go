package webserver

// SetBeforeSubscribe sets a function that a WebSocket's start runs between the handshake's
// check of max_sockets_per_user and its subscription (tests of what falls between the two).
func (s *Server) SetBeforeSubscribe(f func()) { s.beforeSubscribe = f }
