package webserver

import (
	"context"
	"net/http"
	"time"
)

// healthRoutes adds the probes of a process supervisor or load balancer: /healthz answers
// 200 while the process serves HTTP at all (liveness); /readyz answers 200 only when the
// daemon can also read its databases, and 503 otherwise (readiness). Neither needs a session
// or reveals anything but "ok".
func (s *Server) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.App.Store.Ready(ctx); err != nil {
			s.Logger.Warn("readyz: store not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
