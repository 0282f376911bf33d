package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// callIntegrations is call for the IntegrationService on the same socket.
func (a *app) callIntegrations(fn func(ctx context.Context, c adminv1.IntegrationServiceClient) error) error {
	return a.call(false, func(ctx context.Context, _ adminv1.AdminServiceClient) error {
		return fn(ctx, adminv1.NewIntegrationServiceClient(a.conn))
	})
}

func unixTime(ts int64) string {
	if ts == 0 {
		return "-"
	}
	return time.Unix(ts, 0).UTC().Format("2006-01-02 15:04")
}

type botsCmd struct {
	Create botsCreateCmd `cmd:"" help:"Create a bot account: it joins the public channels and signs in only with access tokens (minimostctl tokens create)."`
}

type botsCreateCmd struct {
	Name        string `arg:"" help:"The bot's username."`
	DisplayName string `help:"The name shown for it." placeholder:"NAME"`
}

func (c *botsCreateCmd) Run(a *app) error {
	var id string
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) error {
		resp, err := cl.CreateBot(ctx, &adminv1.CreateBotRequest{Name: c.Name, DisplayName: c.DisplayName})
		id = resp.GetId()
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"username": c.Name, "id": id})
	}
	fmt.Fprintf(a.stdout, "created bot %s; give it a token with: minimostctl tokens create %s\n", c.Name, c.Name)
	return nil
}

type tokensCmd struct {
	Create tokensCreateCmd `cmd:"" help:"Create a personal access token of a user or bot and print it (once: only its hash is kept)."`
	List   tokensListCmd   `cmd:"" help:"List access tokens (never the tokens themselves)."`
	Revoke tokensRevokeCmd `cmd:"" help:"Revoke a token; its open connections close at once."`
}

type tokensCreateCmd struct {
	User    string `arg:"" help:"The account the token acts as."`
	Name    string `help:"What the token is for." placeholder:"TEXT"`
	Expires string `help:"Lifetime: 90d, 12h, or never (the default)." default:"never" placeholder:"DURATION"`
}

// parseLifetime reads "never", "0", "90d" or a Go duration such as "12h".
func parseLifetime(s string) (time.Duration, error) {
	switch s = strings.TrimSpace(s); {
	case s == "never" || s == "0" || s == "":
		return 0, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("--expires %q: give a number of days such as 90d, a duration such as 12h, or never", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: give a number of days such as 90d, a duration such as 12h, or never", s)
	}
	return d, nil
}

// tokenJSON is a token in --json output.
type tokenJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Username   string `json:"username"`
	CreatedTS  int64  `json:"created_ts"`
	ExpiresTS  int64  `json:"expires_ts"`
	LastUsedTS int64  `json:"last_used_ts"`
	Token      string `json:"token,omitempty"`
}

func tokenOut(t *adminv1.Token) tokenJSON {
	return tokenJSON{t.GetId(), t.GetName(), t.GetUsername(), t.GetCreatedTs(), t.GetExpiresTs(), t.GetLastUsedTs(), ""}
}

func (c *tokensCreateCmd) Run(a *app) error {
	d, err := parseLifetime(c.Expires)
	if err != nil {
		return err
	}
	var resp *adminv1.CreateTokenResponse
	err = a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.CreateToken(ctx, &adminv1.CreateTokenRequest{Username: c.User, Name: c.Name, ExpiresSeconds: int64(d / time.Second)})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		t := tokenOut(resp.GetInfo())
		t.Token = resp.GetToken()
		return a.printJSON(t)
	}
	fmt.Fprintln(a.stdout, resp.GetToken())
	exp := "never expires"
	if e := resp.GetInfo().GetExpiresTs(); e != 0 {
		exp = "expires " + unixTime(e) + " UTC"
	}
	fmt.Fprintf(a.stderr, "token %s of %s (%s). It is shown only now: use it as \"Authorization: Bearer <token>\".\n",
		resp.GetInfo().GetId(), c.User, exp)
	return nil
}

type tokensListCmd struct {
	User string `arg:"" optional:"" help:"Only this account's tokens."`
}

func (c *tokensListCmd) Run(a *app) error {
	var resp *adminv1.ListTokensResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.ListTokens(ctx, &adminv1.ListTokensRequest{Username: c.User})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		out := []tokenJSON{}
		for _, t := range resp.GetTokens() {
			out = append(out, tokenOut(t))
		}
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tNAME\tCREATED\tEXPIRES\tLAST USED")
	for _, t := range resp.GetTokens() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.GetId(), t.GetUsername(), t.GetName(), unixTime(t.GetCreatedTs()), unixTime(t.GetExpiresTs()), unixTime(t.GetLastUsedTs()))
	}
	return tw.Flush()
}

type tokensRevokeCmd struct {
	ID string `arg:"" help:"The token's id (from tokens list)."`
}

func (c *tokensRevokeCmd) Run(a *app) error {
	var resp *adminv1.RevokeTokenResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.RevokeToken(ctx, &adminv1.RevokeTokenRequest{Id: c.ID})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(tokenOut(resp.GetToken()))
	}
	fmt.Fprintf(a.stdout, "revoked token %s of %s\n", c.ID, resp.GetToken().GetUsername())
	return nil
}

type webhooksCmd struct {
	Create webhooksCreateCmd `cmd:"" help:"Create an incoming webhook (Slack-compatible) into public channels and print its secret URL."`
	List   webhooksListCmd   `cmd:"" help:"List incoming webhooks (never their URLs)."`
	Rotate webhooksRotateCmd `cmd:"" help:"Give a webhook a new URL; the old one stops working at once."`
	Revoke webhooksRevokeCmd `cmd:"" help:"Delete an incoming webhook. Asks on a terminal unless --yes."`

	Outgoing outgoingCmd `cmd:"" help:"Outgoing webhooks: messages starting with a trigger word are sent to a URL."`
}

type webhooksCreateCmd struct {
	Channel  []string `required:"" help:"A channel it may post to (repeat for more; the first is the default)." placeholder:"NAME"`
	Username string   `help:"The name its messages are shown with (a payload may choose another)."`
	IconURL  string   `name:"icon-url" help:"An icon URL (http or https)."`
}

// hookJSON is an incoming webhook in --json output.
type hookJSON struct {
	ID        string   `json:"id"`
	Channels  []string `json:"channels"`
	Username  string   `json:"username"`
	IconURL   string   `json:"icon_url"`
	Creator   string   `json:"creator"`
	CreatedTS int64    `json:"created_ts"`
	URL       string   `json:"url,omitempty"`
}

func hookOut(h *adminv1.Webhook) hookJSON {
	return hookJSON{h.GetId(), append([]string{}, h.GetChannels()...), h.GetUsername(), h.GetIconUrl(), h.GetCreator(), h.GetCreatedTs(), ""}
}

func (c *webhooksCreateCmd) Run(a *app) error {
	var resp *adminv1.CreateWebhookResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.CreateWebhook(ctx, &adminv1.CreateWebhookRequest{Channels: c.Channel, Username: c.Username, IconUrl: c.IconURL})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		h := hookOut(resp.GetWebhook())
		h.URL = resp.GetUrl()
		return a.printJSON(h)
	}
	fmt.Fprintln(a.stdout, resp.GetUrl())
	fmt.Fprintf(a.stderr, "webhook %s posts to %s. The URL is shown only now; POST Slack-format JSON to it.\n",
		resp.GetWebhook().GetId(), strings.Join(resp.GetWebhook().GetChannels(), ", "))
	return nil
}

type webhooksListCmd struct{}

func (c *webhooksListCmd) Run(a *app) error {
	var resp *adminv1.ListWebhooksResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.ListWebhooks(ctx, &adminv1.ListWebhooksRequest{})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		out := []hookJSON{}
		for _, h := range resp.GetWebhooks() {
			out = append(out, hookOut(h))
		}
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCHANNELS\tUSERNAME\tCREATOR\tCREATED")
	for _, h := range resp.GetWebhooks() {
		creator := h.GetCreator()
		if creator == "" {
			creator = "(admin)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.GetId(), strings.Join(h.GetChannels(), ","), h.GetUsername(), creator, unixTime(h.GetCreatedTs()))
	}
	return tw.Flush()
}

type webhooksRotateCmd struct {
	ID string `arg:"" help:"The webhook's id."`
}

func (c *webhooksRotateCmd) Run(a *app) error {
	var url string
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) error {
		resp, err := cl.RotateWebhook(ctx, &adminv1.RotateWebhookRequest{Id: c.ID})
		url = resp.GetUrl()
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"id": c.ID, "url": url})
	}
	fmt.Fprintln(a.stdout, url)
	return nil
}

type webhooksRevokeCmd struct {
	ID  string `arg:"" help:"The webhook's id."`
	Yes bool   `short:"y" help:"Do not ask for confirmation."`
}

func (c *webhooksRevokeCmd) Run(a *app) error {
	if err := a.confirm(c.Yes, false, fmt.Sprintf("Delete webhook %s? Whatever posts to its URL will get 404.", c.ID)); err != nil {
		return err
	}
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) error {
		_, err := cl.RevokeWebhook(ctx, &adminv1.RevokeWebhookRequest{Id: c.ID})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"id": c.ID, "action": "revoked"})
	}
	fmt.Fprintf(a.stdout, "revoked webhook %s\n", c.ID)
	return nil
}

type outgoingCmd struct {
	Create outgoingCreateCmd `cmd:"" help:"Send channel messages that start with a trigger word to a URL (Slack's outgoing webhook format); its answer is posted."`
	List   outgoingListCmd   `cmd:"" help:"List outgoing webhooks, with the token each receiver checks."`
	Delete outgoingDeleteCmd `cmd:"" help:"Delete an outgoing webhook."`
}

type outgoingCreateCmd struct {
	Channel  string   `required:"" help:"The public channel it listens to." placeholder:"NAME"`
	Trigger  []string `required:"" help:"A trigger word (repeat for more)." placeholder:"WORD"`
	URL      string   `required:"" name:"url" help:"Where to send (http or https; a loopback, private or link-local address only if integration_allowed_hosts in settings.json allows it)."`
	Username string   `help:"The name its answers are shown with."`
}

type outgoingJSON struct {
	ID           string   `json:"id"`
	Channel      string   `json:"channel"`
	TriggerWords []string `json:"trigger_words"`
	URL          string   `json:"url"`
	Token        string   `json:"token"`
	Username     string   `json:"username"`
	CreatedTS    int64    `json:"created_ts"`
}

func outgoingOut(h *adminv1.OutgoingWebhook) outgoingJSON {
	return outgoingJSON{h.GetId(), h.GetChannel(), append([]string{}, h.GetTriggerWords()...), h.GetUrl(), h.GetToken(), h.GetUsername(), h.GetCreatedTs()}
}

func (c *outgoingCreateCmd) Run(a *app) error {
	var resp *adminv1.CreateOutgoingWebhookResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.CreateOutgoingWebhook(ctx, &adminv1.CreateOutgoingWebhookRequest{Channel: c.Channel, TriggerWords: c.Trigger, Url: c.URL, Username: c.Username})
		return err
	})
	if err != nil {
		return err
	}
	h := resp.GetWebhook()
	if a.json {
		return a.printJSON(outgoingOut(h))
	}
	fmt.Fprintf(a.stdout, "outgoing webhook %s on %s; its requests carry token=%s\n", h.GetId(), h.GetChannel(), h.GetToken())
	return nil
}

type outgoingListCmd struct{}

func (c *outgoingListCmd) Run(a *app) error {
	var resp *adminv1.ListOutgoingWebhooksResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.ListOutgoingWebhooks(ctx, &adminv1.ListOutgoingWebhooksRequest{})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		out := []outgoingJSON{}
		for _, h := range resp.GetWebhooks() {
			out = append(out, outgoingOut(h))
		}
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCHANNEL\tTRIGGERS\tURL\tTOKEN")
	for _, h := range resp.GetWebhooks() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.GetId(), h.GetChannel(), strings.Join(h.GetTriggerWords(), ","), h.GetUrl(), h.GetToken())
	}
	return tw.Flush()
}

type outgoingDeleteCmd struct {
	ID string `arg:"" help:"The outgoing webhook's id."`
}

func (c *outgoingDeleteCmd) Run(a *app) error {
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) error {
		_, err := cl.DeleteOutgoingWebhook(ctx, &adminv1.DeleteOutgoingWebhookRequest{Id: c.ID})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"id": c.ID, "action": "deleted"})
	}
	fmt.Fprintf(a.stdout, "deleted outgoing webhook %s\n", c.ID)
	return nil
}

type commandsCmd struct {
	Create commandsCreateCmd `cmd:"" help:"Create a slash command: /TRIGGER text is sent to a URL (Slack's format); its answer is shown."`
	List   commandsListCmd   `cmd:"" help:"List slash commands, with the token each receiver checks."`
	Delete commandsDeleteCmd `cmd:"" help:"Delete a slash command."`
}

type commandsCreateCmd struct {
	Trigger     string `arg:"" help:"The command, without the slash."`
	URL         string `required:"" name:"url" help:"Where to send (http or https; see integration_allowed_hosts)."`
	Description string `help:"Shown in the composer's list."`
	Hint        string `help:"The arguments, shown in the composer's list."`
	Username    string `help:"The name its answers are shown with."`
}

type commandJSON struct {
	Trigger     string `json:"trigger"`
	URL         string `json:"url"`
	Token       string `json:"token"`
	Description string `json:"description"`
	Hint        string `json:"hint"`
	Username    string `json:"username"`
	CreatedTS   int64  `json:"created_ts"`
}

func commandOut(c *adminv1.Command) commandJSON {
	return commandJSON{c.GetTrigger(), c.GetUrl(), c.GetToken(), c.GetDescription(), c.GetHint(), c.GetUsername(), c.GetCreatedTs()}
}

func (c *commandsCreateCmd) Run(a *app) error {
	var resp *adminv1.CreateCommandResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.CreateCommand(ctx, &adminv1.CreateCommandRequest{Trigger: c.Trigger, Url: c.URL, Description: c.Description, Hint: c.Hint, Username: c.Username})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(commandOut(resp.GetCommand()))
	}
	fmt.Fprintf(a.stdout, "created /%s; its requests carry token=%s\n", resp.GetCommand().GetTrigger(), resp.GetCommand().GetToken())
	return nil
}

type commandsListCmd struct{}

func (c *commandsListCmd) Run(a *app) error {
	var resp *adminv1.ListCommandsResponse
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) (err error) {
		resp, err = cl.ListCommands(ctx, &adminv1.ListCommandsRequest{})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		out := []commandJSON{}
		for _, c := range resp.GetCommands() {
			out = append(out, commandOut(c))
		}
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRIGGER\tURL\tTOKEN\tDESCRIPTION")
	for _, c := range resp.GetCommands() {
		fmt.Fprintf(tw, "/%s\t%s\t%s\t%s\n", c.GetTrigger(), c.GetUrl(), c.GetToken(), c.GetDescription())
	}
	return tw.Flush()
}

type commandsDeleteCmd struct {
	Trigger string `arg:"" help:"The command, with or without the slash."`
}

func (c *commandsDeleteCmd) Run(a *app) error {
	err := a.callIntegrations(func(ctx context.Context, cl adminv1.IntegrationServiceClient) error {
		_, err := cl.DeleteCommand(ctx, &adminv1.DeleteCommandRequest{Trigger: c.Trigger})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"trigger": strings.TrimPrefix(c.Trigger, "/"), "action": "deleted"})
	}
	fmt.Fprintf(a.stdout, "deleted /%s\n", strings.TrimPrefix(c.Trigger, "/"))
	return nil
}
