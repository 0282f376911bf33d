package admin

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/minimost/minimost/pkg/chat"
	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// IntegrationsBackend is what the integration service needs: *app.App's integration
// use-cases, called as the administrator.
type IntegrationsBackend interface {
	CreateBot(ctx context.Context, name, displayName string) (chat.UserRecord, error)
	CreateToken(ctx context.Context, user, name string, expires time.Duration) (string, chat.Token, error)
	Tokens(ctx context.Context, user string) ([]chat.Token, error)
	RevokeToken(ctx context.Context, id string) (chat.Token, error)
	CreateIncomingWebhook(ctx context.Context, me chat.Account, channels []string, username, iconURL string) (chat.IncomingWebhook, string, error)
	AllIncomingWebhooks(ctx context.Context) ([]chat.IncomingWebhook, error)
	RotateIncomingWebhook(ctx context.Context, me chat.Account, id string) (string, error)
	RevokeIncomingWebhook(ctx context.Context, me chat.Account, id string) error
	CreateOutgoingWebhook(ctx context.Context, channel string, triggerWords []string, rawURL, username string) (chat.OutgoingWebhook, error)
	OutgoingWebhooks(ctx context.Context) ([]chat.OutgoingWebhook, error)
	DeleteOutgoingWebhook(ctx context.Context, id string) error
	CreateSlashCommand(ctx context.Context, trigger, rawURL, description, hint, username string) (chat.SlashCommand, error)
	SlashCommands(ctx context.Context) ([]chat.SlashCommand, error)
	DeleteSlashCommand(ctx context.Context, trigger string) error
}

// IntegrationServer serves IntegrationService on the admin socket; it only translates.
type IntegrationServer struct {
	adminv1.UnimplementedIntegrationServiceServer
	B IntegrationsBackend
}

// Register registers the service on g.
func (s *IntegrationServer) Register(g *grpc.Server) { adminv1.RegisterIntegrationServiceServer(g, s) }

func grpcErr(err error, conflict codes.Code) error {
	if err == nil {
		return nil
	}
	return ToStatus(err, conflict).Err()
}

func tokenPB(t chat.Token) *adminv1.Token {
	return &adminv1.Token{Id: t.ID, Name: t.Name, Username: t.Username, CreatedTs: t.CreatedTS, ExpiresTs: t.ExpiresTS, LastUsedTs: t.LastUsedTS}
}

func hookPB(h chat.IncomingWebhook) *adminv1.Webhook {
	return &adminv1.Webhook{Id: h.ID, Channels: h.Channels, Username: h.Username, IconUrl: h.IconURL, Creator: h.CreatorName, CreatedTs: h.CreatedTS}
}

func outgoingPB(h chat.OutgoingWebhook) *adminv1.OutgoingWebhook {
	return &adminv1.OutgoingWebhook{Id: h.ID, Channel: h.Channel, TriggerWords: h.TriggerWords, Url: h.URL, Token: h.Token, Username: h.Username, CreatedTs: h.CreatedTS}
}

func commandPB(c chat.SlashCommand) *adminv1.Command {
	return &adminv1.Command{Trigger: c.Trigger, Url: c.URL, Token: c.Token, Description: c.Description, Hint: c.Hint, Username: c.Username, CreatedTs: c.CreatedTS}
}

// CreateBot implements IntegrationService.
func (s *IntegrationServer) CreateBot(ctx context.Context, r *adminv1.CreateBotRequest) (*adminv1.CreateBotResponse, error) {
	u, err := s.B.CreateBot(ctx, r.GetName(), r.GetDisplayName())
	if err != nil {
		return nil, grpcErr(err, codes.AlreadyExists)
	}
	return &adminv1.CreateBotResponse{Id: u.ID}, nil
}

// CreateToken implements IntegrationService.
func (s *IntegrationServer) CreateToken(ctx context.Context, r *adminv1.CreateTokenRequest) (*adminv1.CreateTokenResponse, error) {
	tok, t, err := s.B.CreateToken(ctx, r.GetUsername(), r.GetName(), time.Duration(r.GetExpiresSeconds())*time.Second)
	if err != nil {
		return nil, grpcErr(err, codes.AlreadyExists)
	}
	return &adminv1.CreateTokenResponse{Token: tok, Info: tokenPB(t)}, nil
}

// ListTokens implements IntegrationService.
func (s *IntegrationServer) ListTokens(ctx context.Context, r *adminv1.ListTokensRequest) (*adminv1.ListTokensResponse, error) {
	ts, err := s.B.Tokens(ctx, r.GetUsername())
	if err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	out := &adminv1.ListTokensResponse{}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, tokenPB(t))
	}
	return out, nil
}

// RevokeToken implements IntegrationService.
func (s *IntegrationServer) RevokeToken(ctx context.Context, r *adminv1.RevokeTokenRequest) (*adminv1.RevokeTokenResponse, error) {
	t, err := s.B.RevokeToken(ctx, r.GetId())
	if err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	return &adminv1.RevokeTokenResponse{Token: tokenPB(t)}, nil
}

// CreateWebhook implements IntegrationService.
func (s *IntegrationServer) CreateWebhook(ctx context.Context, r *adminv1.CreateWebhookRequest) (*adminv1.CreateWebhookResponse, error) {
	h, url, err := s.B.CreateIncomingWebhook(ctx, chat.Account{}, r.GetChannels(), r.GetUsername(), r.GetIconUrl())
	if err != nil {
		return nil, grpcErr(err, codes.AlreadyExists)
	}
	return &adminv1.CreateWebhookResponse{Webhook: hookPB(h), Url: url}, nil
}

// ListWebhooks implements IntegrationService.
func (s *IntegrationServer) ListWebhooks(ctx context.Context, r *adminv1.ListWebhooksRequest) (*adminv1.ListWebhooksResponse, error) {
	hs, err := s.B.AllIncomingWebhooks(ctx)
	if err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	out := &adminv1.ListWebhooksResponse{}
	for _, h := range hs {
		out.Webhooks = append(out.Webhooks, hookPB(h))
	}
	return out, nil
}

// RotateWebhook implements IntegrationService.
func (s *IntegrationServer) RotateWebhook(ctx context.Context, r *adminv1.RotateWebhookRequest) (*adminv1.RotateWebhookResponse, error) {
	url, err := s.B.RotateIncomingWebhook(ctx, chat.Account{}, r.GetId())
	if err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	return &adminv1.RotateWebhookResponse{Url: url}, nil
}

// RevokeWebhook implements IntegrationService.
func (s *IntegrationServer) RevokeWebhook(ctx context.Context, r *adminv1.RevokeWebhookRequest) (*adminv1.RevokeWebhookResponse, error) {
	if err := s.B.RevokeIncomingWebhook(ctx, chat.Account{}, r.GetId()); err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	return &adminv1.RevokeWebhookResponse{}, nil
}

// CreateOutgoingWebhook implements IntegrationService.
func (s *IntegrationServer) CreateOutgoingWebhook(ctx context.Context, r *adminv1.CreateOutgoingWebhookRequest) (*adminv1.CreateOutgoingWebhookResponse, error) {
	h, err := s.B.CreateOutgoingWebhook(ctx, r.GetChannel(), r.GetTriggerWords(), r.GetUrl(), r.GetUsername())
	if err != nil {
		return nil, grpcErr(err, codes.AlreadyExists)
	}
	return &adminv1.CreateOutgoingWebhookResponse{Webhook: outgoingPB(h)}, nil
}

// ListOutgoingWebhooks implements IntegrationService.
func (s *IntegrationServer) ListOutgoingWebhooks(ctx context.Context, r *adminv1.ListOutgoingWebhooksRequest) (*adminv1.ListOutgoingWebhooksResponse, error) {
	hs, err := s.B.OutgoingWebhooks(ctx)
	if err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	out := &adminv1.ListOutgoingWebhooksResponse{}
	for _, h := range hs {
		out.Webhooks = append(out.Webhooks, outgoingPB(h))
	}
	return out, nil
}

// DeleteOutgoingWebhook implements IntegrationService.
func (s *IntegrationServer) DeleteOutgoingWebhook(ctx context.Context, r *adminv1.DeleteOutgoingWebhookRequest) (*adminv1.DeleteOutgoingWebhookResponse, error) {
	if err := s.B.DeleteOutgoingWebhook(ctx, r.GetId()); err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	return &adminv1.DeleteOutgoingWebhookResponse{}, nil
}

// CreateCommand implements IntegrationService.
func (s *IntegrationServer) CreateCommand(ctx context.Context, r *adminv1.CreateCommandRequest) (*adminv1.CreateCommandResponse, error) {
	c, err := s.B.CreateSlashCommand(ctx, r.GetTrigger(), r.GetUrl(), r.GetDescription(), r.GetHint(), r.GetUsername())
	if err != nil {
		return nil, grpcErr(err, codes.AlreadyExists)
	}
	return &adminv1.CreateCommandResponse{Command: commandPB(c)}, nil
}

// ListCommands implements IntegrationService.
func (s *IntegrationServer) ListCommands(ctx context.Context, r *adminv1.ListCommandsRequest) (*adminv1.ListCommandsResponse, error) {
	cs, err := s.B.SlashCommands(ctx)
	if err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	out := &adminv1.ListCommandsResponse{}
	for _, c := range cs {
		out.Commands = append(out.Commands, commandPB(c))
	}
	return out, nil
}

// DeleteCommand implements IntegrationService.
func (s *IntegrationServer) DeleteCommand(ctx context.Context, r *adminv1.DeleteCommandRequest) (*adminv1.DeleteCommandResponse, error) {
	if err := s.B.DeleteSlashCommand(ctx, r.GetTrigger()); err != nil {
		return nil, grpcErr(err, codes.FailedPrecondition)
	}
	return &adminv1.DeleteCommandResponse{}, nil
}
