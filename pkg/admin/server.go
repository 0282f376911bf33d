package admin

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/minimost/minimost/pkg/chat"
	"github.com/minimost/minimost/pkg/progress"
	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// DefaultResetExpiry is how long a reset link stays valid when the request does not say.
const DefaultResetExpiry = 60 * time.Minute

// Server implements adminv1.AdminServiceServer by calling a Backend. It validates what only
// the wire format allows to be wrong (an unspecified enum, a relative backup path) and leaves
// every other decision to the Backend.
type Server struct {
	adminv1.UnimplementedAdminServiceServer

	backend Backend
	logger  *slog.Logger
	health  *health.Server

	// stopping ends when the daemon shuts down: it stops the operations that outlive their
	// caller (a backup whose minimostctl was interrupted).
	stopping context.Context
	stop     context.CancelFunc
}

var _ adminv1.AdminServiceServer = (*Server)(nil)

// NewServer returns a Server that serves b. A nil logger discards logs.
func NewServer(b Backend, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{backend: b, logger: logger, health: health.NewServer(), stopping: ctx, stop: cancel}
}

// Register registers the AdminService, the standard health service (reporting SERVING for
// the whole server and for AdminService) and server reflection on g, so that
// `grpcurl -unix` works against the socket.
func (s *Server) Register(g *grpc.Server) {
	adminv1.RegisterAdminServiceServer(g, s)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(adminv1.AdminService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
}

// Shutdown makes the health service report NOT_SERVING, for the time between the daemon
// deciding to stop and the gRPC server closing, and cancels the operations that outlive their
// caller (see Backup).
func (s *Server) Shutdown() {
	s.health.Shutdown()
	s.stop()
}

// ToStatus converts an error from a Backend into a gRPC status. The codes of *chat.Error
// map to gRPC codes; conflict is the code for chat.EConflict (codes.AlreadyExists where
// the request creates something, codes.FailedPrecondition elsewhere). Any other error,
// and chat.EInternal, becomes codes.Internal with the message "internal error": its text
// may hold paths or SQL and belongs in the daemon's log, not in front of the caller.
func ToStatus(err error, conflict codes.Code) *status.Status {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	var e *chat.Error
	if !errors.As(err, &e) {
		return status.New(codes.Internal, "internal error")
	}
	var c codes.Code
	switch e.Code {
	case chat.EInvalid:
		c = codes.InvalidArgument
	case chat.ENotFound:
		c = codes.NotFound
	case chat.EConflict:
		c = conflict
	case chat.EUnauthorized:
		c = codes.Unauthenticated
	case chat.EForbidden:
		c = codes.PermissionDenied
	case chat.ETooMany, chat.ETooLarge:
		c = codes.ResourceExhausted
	case chat.EUnavailable:
		c = codes.Unavailable
	default:
		return status.New(codes.Internal, "internal error")
	}
	return status.New(c, e.Message)
}

// fail converts err for the wire with ToStatus and logs what the caller will not see.
func (s *Server) fail(ctx context.Context, rpc string, err error, conflict codes.Code) error {
	st := ToStatus(err, conflict)
	if st.Code() == codes.Internal {
		s.logger.ErrorContext(ctx, "admin rpc failed", "rpc", rpc, "err", err)
	} else {
		s.logger.InfoContext(ctx, "admin rpc refused", "rpc", rpc, "code", st.Code().String(), "err", err)
	}
	return st.Err()
}

// invalid returns an InvalidArgument status for a request the wire format let through.
func invalid(msg string) error { return status.Error(codes.InvalidArgument, msg) }

// optInt converts an optional proto int into the Backend's nil-means-default form.
func optInt(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

// unixOrZero keeps "not set" visible on the wire as 0 rather than as year 1.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func dbResults(rs []DBResult) []*adminv1.DBResult {
	out := make([]*adminv1.DBResult, 0, len(rs))
	for _, r := range rs {
		out = append(out, &adminv1.DBResult{Path: r.Path, Ok: r.OK, Detail: r.Detail})
	}
	return out
}

// Status implements adminv1.AdminServiceServer.
func (s *Server) Status(ctx context.Context, _ *adminv1.StatusRequest) (*adminv1.StatusResponse, error) {
	st, err := s.backend.Status(ctx)
	if err != nil {
		return nil, s.fail(ctx, "Status", err, codes.FailedPrecondition)
	}
	return &adminv1.StatusResponse{
		Version:          st.Version,
		StartedTs:        unixOrZero(st.Started),
		DataDir:          st.DataDir,
		ListenAddr:       st.ListenAddr,
		ConnectedClients: int32(st.ConnectedClients),
		NextCleanupTs:    unixOrZero(st.NextCleanup),
		SettingsError:    st.SettingsError,
		PublicUrl:        st.PublicURL,
	}, nil
}

// ListUsers implements adminv1.AdminServiceServer.
func (s *Server) ListUsers(ctx context.Context, _ *adminv1.ListUsersRequest) (*adminv1.ListUsersResponse, error) {
	users, err := s.backend.ListUsers(ctx)
	if err != nil {
		return nil, s.fail(ctx, "ListUsers", err, codes.FailedPrecondition)
	}
	resp := &adminv1.ListUsersResponse{Users: make([]*adminv1.User, 0, len(users))}
	for _, u := range users {
		resp.Users = append(resp.Users, &adminv1.User{Username: u.Username, CreatedTs: u.CreatedTS, MessageCount: u.MessageCount})
	}
	return resp, nil
}

// CreateUser implements adminv1.AdminServiceServer.
func (s *Server) CreateUser(ctx context.Context, req *adminv1.CreateUserRequest) (*adminv1.CreateUserResponse, error) {
	if err := s.backend.CreateUser(ctx, req.GetUsername(), req.GetPassword()); err != nil {
		return nil, s.fail(ctx, "CreateUser", err, codes.AlreadyExists)
	}
	s.logger.InfoContext(ctx, "admin created user", "user", req.GetUsername())
	return &adminv1.CreateUserResponse{}, nil
}

// DeleteUser implements adminv1.AdminServiceServer.
func (s *Server) DeleteUser(ctx context.Context, req *adminv1.DeleteUserRequest) (*adminv1.DeleteUserResponse, error) {
	var mode string
	switch req.GetMode() {
	case adminv1.DeleteMode_DELETE_MODE_SOFT:
		mode = "soft"
	case adminv1.DeleteMode_DELETE_MODE_HARD:
		mode = "hard"
	default:
		return nil, invalid("delete mode must be soft or hard")
	}
	if err := s.backend.DeleteUser(ctx, req.GetUsername(), mode); err != nil {
		return nil, s.fail(ctx, "DeleteUser", err, codes.FailedPrecondition)
	}
	s.logger.InfoContext(ctx, "admin deleted user", "user", req.GetUsername(), "mode", mode)
	return &adminv1.DeleteUserResponse{}, nil
}

// ResetPassword implements adminv1.AdminServiceServer.
func (s *Server) ResetPassword(ctx context.Context, req *adminv1.ResetPasswordRequest) (*adminv1.ResetPasswordResponse, error) {
	expires := DefaultResetExpiry
	if req.ExpiresMinutes != nil {
		if req.GetExpiresMinutes() <= 0 {
			return nil, invalid("expiry must be at least one minute")
		}
		expires = time.Duration(req.GetExpiresMinutes()) * time.Minute
	}
	url, expiresTS, err := s.backend.ResetPassword(ctx, req.GetUsername(), expires, req.GetBaseUrl())
	if err != nil {
		return nil, s.fail(ctx, "ResetPassword", err, codes.FailedPrecondition)
	}
	s.logger.InfoContext(ctx, "admin requested password reset", "user", req.GetUsername(), "expires", expires)
	return &adminv1.ResetPasswordResponse{Url: url, ExpiresTs: expiresTS}, nil
}

// CleanupFiles implements adminv1.AdminServiceServer.
func (s *Server) CleanupFiles(ctx context.Context, req *adminv1.CleanupFilesRequest) (*adminv1.CleanupFilesResponse, error) {
	if req.GetImageDays() < 0 || req.GetFileDays() < 0 {
		return nil, invalid("retention days must not be negative")
	}
	rep, err := s.backend.CleanupFiles(ctx, optInt(req.ImageDays), optInt(req.FileDays), req.GetDryRun())
	if err != nil {
		return nil, s.fail(ctx, "CleanupFiles", err, codes.FailedPrecondition)
	}
	resp := &adminv1.CleanupFilesResponse{
		DryRun:    rep.DryRun,
		Removed:   make([]*adminv1.RemovedFile, 0, len(rep.Removed)),
		Bytes:     rep.Bytes,
		ImageDays: int32(rep.ImageDays),
		FileDays:  int32(rep.FileDays),
	}
	for _, f := range rep.Removed {
		resp.Removed = append(resp.Removed, &adminv1.RemovedFile{Name: f.Name, Size: f.Size, ModTs: unixOrZero(f.ModTime), Image: f.Image})
	}
	return resp, nil
}

// CleanupMessages implements adminv1.AdminServiceServer.
func (s *Server) CleanupMessages(ctx context.Context, req *adminv1.CleanupMessagesRequest) (*adminv1.CleanupMessagesResponse, error) {
	if req.GetDays() < 0 {
		return nil, invalid("retention days must not be negative")
	}
	rep, err := s.backend.CleanupMessages(ctx, optInt(req.Days), req.GetDryRun())
	if err != nil {
		return nil, s.fail(ctx, "CleanupMessages", err, codes.FailedPrecondition)
	}
	return &adminv1.CleanupMessagesResponse{DryRun: rep.DryRun, Days: int32(rep.Days), PerUser: rep.PerUser, Total: rep.Total}, nil
}

// CleanupTokens implements adminv1.AdminServiceServer.
func (s *Server) CleanupTokens(ctx context.Context, _ *adminv1.CleanupTokensRequest) (*adminv1.CleanupTokensResponse, error) {
	n, err := s.backend.CleanupTokens(ctx)
	if err != nil {
		return nil, s.fail(ctx, "CleanupTokens", err, codes.FailedPrecondition)
	}
	return &adminv1.CleanupTokensResponse{Removed: n}, nil
}

// IntegrityCheck implements adminv1.AdminServiceServer.
func (s *Server) IntegrityCheck(ctx context.Context, _ *adminv1.IntegrityCheckRequest) (*adminv1.IntegrityCheckResponse, error) {
	rs, err := s.backend.IntegrityCheck(ctx)
	if err != nil {
		return nil, s.fail(ctx, "IntegrityCheck", err, codes.FailedPrecondition)
	}
	return &adminv1.IntegrityCheckResponse{Results: dbResults(rs)}, nil
}

// Backup implements adminv1.AdminServiceServer.
func (s *Server) Backup(ctx context.Context, req *adminv1.BackupRequest) (*adminv1.BackupResponse, error) {
	// A relative path would resolve against the daemon's working directory, which the
	// admin did not mean; minimostctl makes it absolute against its own.
	if !filepath.IsAbs(req.GetDir()) {
		return nil, invalid("backup directory must be an absolute path")
	}
	since := req.GetSince()
	if since != "" {
		if !filepath.IsAbs(since) {
			return nil, invalid("previous backup must be an absolute path")
		}
		since = filepath.Clean(since)
	}
	// An admin's Ctrl-C (or a lost SSH session) ends the call, not the backup: the daemon
	// finishes it, unless the caller asked for cancel_on_interrupt. Either way a backup
	// stopped half way leaves only DIR.partial, and the daemon's shutdown stops it.
	bctx := ctx
	if !req.GetCancelOnInterrupt() {
		bctx = context.WithoutCancel(ctx)
	}
	bctx, cancel := context.WithCancel(bctx)
	defer cancel()
	defer context.AfterFunc(s.stopping, cancel)()
	rep, err := s.backend.Backup(bctx, filepath.Clean(req.GetDir()), since)
	if err != nil {
		return nil, s.fail(ctx, "Backup", err, codes.FailedPrecondition)
	}
	s.logger.InfoContext(ctx, "admin backup written", "dir", rep.Dir, "databases", len(rep.Databases), "files", rep.Files, "bytes", rep.Bytes, "linked", rep.Linked)
	return &adminv1.BackupResponse{
		Dir: rep.Dir, Databases: rep.Databases, Files: int32(rep.Files), Bytes: rep.Bytes,
		Users: rep.Users, Messages: rep.Messages, Manifest: rep.Manifest,
		Linked: int32(rep.Linked), LinkedBytes: rep.LinkedBytes,
	}, nil
}

// VerifyBackup implements adminv1.AdminServiceServer.
func (s *Server) VerifyBackup(ctx context.Context, req *adminv1.VerifyBackupRequest) (*adminv1.VerifyBackupResponse, error) {
	if !filepath.IsAbs(req.GetDir()) {
		return nil, invalid("backup directory must be an absolute path")
	}
	rep, err := s.backend.VerifyBackup(ctx, filepath.Clean(req.GetDir()))
	if err != nil {
		return nil, s.fail(ctx, "VerifyBackup", err, codes.FailedPrecondition)
	}
	return &adminv1.VerifyBackupResponse{
		Ok: rep.OK(), Files: int32(len(rep.Manifest.Files)), Problems: rep.Problems, Results: dbResults(rep.Results),
		Version: rep.Manifest.Version, CreatedTs: rep.Manifest.CreatedTS, Users: rep.Manifest.Users, Messages: rep.Manifest.Messages,
	}, nil
}

// Checkpoint implements adminv1.AdminServiceServer.
func (s *Server) Checkpoint(ctx context.Context, req *adminv1.CheckpointRequest) (*adminv1.CheckpointResponse, error) {
	rs, err := s.backend.Checkpoint(ctx, req.GetUsers())
	if err != nil {
		return nil, s.fail(ctx, "Checkpoint", err, codes.FailedPrecondition)
	}
	return &adminv1.CheckpointResponse{Results: dbResults(rs)}, nil
}

// Vacuum implements adminv1.AdminServiceServer.
func (s *Server) Vacuum(ctx context.Context, req *adminv1.VacuumRequest) (*adminv1.VacuumResponse, error) {
	rs, err := s.backend.Vacuum(ctx, req.GetUsers())
	if err != nil {
		return nil, s.fail(ctx, "Vacuum", err, codes.FailedPrecondition)
	}
	return &adminv1.VacuumResponse{Results: dbResults(rs)}, nil
}

// Stats implements adminv1.AdminServiceServer.
func (s *Server) Stats(ctx context.Context, _ *adminv1.StatsRequest) (*adminv1.StatsResponse, error) {
	st, err := s.backend.Stats(ctx)
	if err != nil {
		return nil, s.fail(ctx, "Stats", err, codes.FailedPrecondition)
	}
	return &adminv1.StatsResponse{
		Users:           int32(st.Users),
		MessagesPerUser: st.MessagesPerUser,
		DiskUsers:       st.DiskUsers,
		DiskUploads:     st.DiskUploads,
		DiskAvatars:     st.DiskAvatars,
		DiskAuthDb:      st.DiskAuthDB,
		DiskPresenceDb:  st.DiskPresenceDB,
		WalUsers:        st.WALUsers,
		WalAuthDb:       st.WALAuthDB,
		WalPresenceDb:   st.WALPresenceDB,
		UserDatabases:   int32(st.UserDatabases),
		WalFiles:        int32(st.WALFiles),
	}, nil
}

// ListChannels implements adminv1.AdminServiceServer.
func (s *Server) ListChannels(ctx context.Context, _ *adminv1.ListChannelsRequest) (*adminv1.ListChannelsResponse, error) {
	chs, err := s.backend.ListChannels(ctx)
	if err != nil {
		return nil, s.fail(ctx, "ListChannels", err, codes.FailedPrecondition)
	}
	return &adminv1.ListChannelsResponse{Channels: chs}, nil
}

// AddChannel implements adminv1.AdminServiceServer.
func (s *Server) AddChannel(ctx context.Context, req *adminv1.AddChannelRequest) (*adminv1.AddChannelResponse, error) {
	if err := s.backend.AddChannel(ctx, req.GetName()); err != nil {
		return nil, s.fail(ctx, "AddChannel", err, codes.AlreadyExists)
	}
	s.logger.InfoContext(ctx, "admin added channel", "channel", req.GetName())
	return &adminv1.AddChannelResponse{}, nil
}

// RemoveChannel implements adminv1.AdminServiceServer.
func (s *Server) RemoveChannel(ctx context.Context, req *adminv1.RemoveChannelRequest) (*adminv1.RemoveChannelResponse, error) {
	if err := s.backend.RemoveChannel(ctx, req.GetName()); err != nil {
		return nil, s.fail(ctx, "RemoveChannel", err, codes.FailedPrecondition)
	}
	s.logger.InfoContext(ctx, "admin removed channel", "channel", req.GetName())
	return &adminv1.RemoveChannelResponse{}, nil
}

// withProgress runs op with a context that collects its progress reports, and sends them to
// the caller with send while op runs, as fast as the stream takes them: a report not sent yet
// is replaced by the next one of the same phase, so a slow client never slows the operation
// down, but the last report of each phase (100%) always reaches it. It returns op's result
// once op ends, even if the caller went away meanwhile (a backup then runs to its end, as
// Backup does).
func withProgress[T any](ctx context.Context, send func(*adminv1.Progress) error, op func(ctx context.Context) (T, error)) (T, error) {
	var (
		mu      sync.Mutex
		pending []*adminv1.Progress
	)
	wake := make(chan struct{}, 1)
	pctx := progress.With(ctx, func(r progress.Report) {
		p := &adminv1.Progress{Phase: r.Phase, Done: int32(r.Done), Total: int32(r.Total), Bytes: r.Bytes, Current: r.Current}
		mu.Lock()
		if n := len(pending); n > 0 && pending[n-1].GetPhase() == p.GetPhase() {
			pending[n-1] = p
		} else {
			pending = append(pending, p)
		}
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := op(pctx)
		done <- result{v, err}
	}()
	sending := true
	flush := func() {
		mu.Lock()
		ps := pending
		pending = nil
		mu.Unlock()
		for _, p := range ps {
			if sending && send(p) != nil {
				sending = false // the caller is gone; the operation goes on
			}
		}
	}
	for {
		select {
		case <-wake:
			flush()
		case r := <-done:
			flush()
			return r.v, r.err
		}
	}
}

// BackupStream implements adminv1.AdminServiceServer.
func (s *Server) BackupStream(req *adminv1.BackupStreamRequest, stream adminv1.AdminService_BackupStreamServer) error {
	send := func(p *adminv1.Progress) error {
		return stream.Send(&adminv1.BackupStreamResponse{Event: &adminv1.BackupStreamResponse_Progress{Progress: p}})
	}
	resp, err := withProgress(stream.Context(), send, func(ctx context.Context) (*adminv1.BackupResponse, error) {
		return s.Backup(ctx, req.GetRequest())
	})
	if err != nil {
		return err
	}
	return stream.Send(&adminv1.BackupStreamResponse{Event: &adminv1.BackupStreamResponse_Result{Result: resp}})
}

// VerifyBackupStream implements adminv1.AdminServiceServer.
func (s *Server) VerifyBackupStream(req *adminv1.VerifyBackupStreamRequest, stream adminv1.AdminService_VerifyBackupStreamServer) error {
	send := func(p *adminv1.Progress) error {
		return stream.Send(&adminv1.VerifyBackupStreamResponse{Event: &adminv1.VerifyBackupStreamResponse_Progress{Progress: p}})
	}
	resp, err := withProgress(stream.Context(), send, func(ctx context.Context) (*adminv1.VerifyBackupResponse, error) {
		return s.VerifyBackup(ctx, req.GetRequest())
	})
	if err != nil {
		return err
	}
	return stream.Send(&adminv1.VerifyBackupStreamResponse{Event: &adminv1.VerifyBackupStreamResponse_Result{Result: resp}})
}

// IntegrityCheckStream implements adminv1.AdminServiceServer.
func (s *Server) IntegrityCheckStream(req *adminv1.IntegrityCheckStreamRequest, stream adminv1.AdminService_IntegrityCheckStreamServer) error {
	send := func(p *adminv1.Progress) error {
		return stream.Send(&adminv1.IntegrityCheckStreamResponse{Event: &adminv1.IntegrityCheckStreamResponse_Progress{Progress: p}})
	}
	resp, err := withProgress(stream.Context(), send, func(ctx context.Context) (*adminv1.IntegrityCheckResponse, error) {
		return s.IntegrityCheck(ctx, req.GetRequest())
	})
	if err != nil {
		return err
	}
	return stream.Send(&adminv1.IntegrityCheckStreamResponse{Event: &adminv1.IntegrityCheckStreamResponse_Result{Result: resp}})
}

// CheckpointStream implements adminv1.AdminServiceServer.
func (s *Server) CheckpointStream(req *adminv1.CheckpointStreamRequest, stream adminv1.AdminService_CheckpointStreamServer) error {
	send := func(p *adminv1.Progress) error {
		return stream.Send(&adminv1.CheckpointStreamResponse{Event: &adminv1.CheckpointStreamResponse_Progress{Progress: p}})
	}
	resp, err := withProgress(stream.Context(), send, func(ctx context.Context) (*adminv1.CheckpointResponse, error) {
		return s.Checkpoint(ctx, req.GetRequest())
	})
	if err != nil {
		return err
	}
	return stream.Send(&adminv1.CheckpointStreamResponse{Event: &adminv1.CheckpointStreamResponse_Result{Result: resp}})
}

// VacuumStream implements adminv1.AdminServiceServer.
func (s *Server) VacuumStream(req *adminv1.VacuumStreamRequest, stream adminv1.AdminService_VacuumStreamServer) error {
	send := func(p *adminv1.Progress) error {
		return stream.Send(&adminv1.VacuumStreamResponse{Event: &adminv1.VacuumStreamResponse_Progress{Progress: p}})
	}
	resp, err := withProgress(stream.Context(), send, func(ctx context.Context) (*adminv1.VacuumResponse, error) {
		return s.Vacuum(ctx, req.GetRequest())
	})
	if err != nil {
		return err
	}
	return stream.Send(&adminv1.VacuumStreamResponse{Event: &adminv1.VacuumStreamResponse_Result{Result: resp}})
}

// CleanupMessagesStream implements adminv1.AdminServiceServer.
func (s *Server) CleanupMessagesStream(req *adminv1.CleanupMessagesStreamRequest, stream adminv1.AdminService_CleanupMessagesStreamServer) error {
	send := func(p *adminv1.Progress) error {
		return stream.Send(&adminv1.CleanupMessagesStreamResponse{Event: &adminv1.CleanupMessagesStreamResponse_Progress{Progress: p}})
	}
	resp, err := withProgress(stream.Context(), send, func(ctx context.Context) (*adminv1.CleanupMessagesResponse, error) {
		return s.CleanupMessages(ctx, req.GetRequest())
	})
	if err != nil {
		return err
	}
	return stream.Send(&adminv1.CleanupMessagesStreamResponse{Event: &adminv1.CleanupMessagesStreamResponse_Result{Result: resp}})
}

// CleanupFilesStream implements adminv1.AdminServiceServer.
func (s *Server) CleanupFilesStream(req *adminv1.CleanupFilesStreamRequest, stream adminv1.AdminService_CleanupFilesStreamServer) error {
	send := func(p *adminv1.Progress) error {
		return stream.Send(&adminv1.CleanupFilesStreamResponse{Event: &adminv1.CleanupFilesStreamResponse_Progress{Progress: p}})
	}
	resp, err := withProgress(stream.Context(), send, func(ctx context.Context) (*adminv1.CleanupFilesResponse, error) {
		return s.CleanupFiles(ctx, req.GetRequest())
	})
	if err != nil {
		return err
	}
	return stream.Send(&adminv1.CleanupFilesStreamResponse{Event: &adminv1.CleanupFilesStreamResponse_Result{Result: resp}})
}
