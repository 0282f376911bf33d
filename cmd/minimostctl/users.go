package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

type usersCmd struct {
	List   usersListCmd   `cmd:"" help:"List usernames, one per line."`
	Create usersCreateCmd `cmd:"" help:"Create an account. The password is prompted for twice on a terminal, otherwise read from the first line of stdin."`
	Delete usersDeleteCmd `cmd:"" help:"Delete an account (the same code path as self-service deletion)."`
}

type usersListCmd struct{}

// userJSON is one element of `users list --json`.
type userJSON struct {
	Username  string `json:"username"`
	CreatedTS int64  `json:"created_ts"`
	Messages  int64  `json:"messages"`
}

func (c *usersListCmd) Run(a *app) error {
	var resp *adminv1.ListUsersResponse
	err := a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) (err error) {
		resp, err = cl.ListUsers(ctx, &adminv1.ListUsersRequest{})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		out := make([]userJSON, 0, len(resp.GetUsers()))
		for _, u := range resp.GetUsers() {
			out = append(out, userJSON{Username: u.GetUsername(), CreatedTS: u.GetCreatedTs(), Messages: u.GetMessageCount()})
		}
		return a.printJSON(out)
	}
	for _, u := range resp.GetUsers() {
		fmt.Fprintln(a.stdout, u.GetUsername())
	}
	return nil
}

type usersCreateCmd struct {
	User          string `arg:"" help:"Username."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from the first line of stdin, even on a terminal."`
}

func (c *usersCreateCmd) Run(a *app) error {
	password, err := c.password(a)
	if err != nil {
		return err
	}
	err = a.call(false, func(ctx context.Context, cl adminv1.AdminServiceClient) error {
		_, err := cl.CreateUser(ctx, &adminv1.CreateUserRequest{Username: c.User, Password: password})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"username": c.User, "action": "created"})
	}
	fmt.Fprintf(a.stdout, "created %s\n", c.User)
	return nil
}

// password prompts twice without echo on a terminal; otherwise it reads stdin's first line.
func (c *usersCreateCmd) password(a *app) (string, error) {
	var pw string
	if f, ok := terminal(a.stdin); ok && !c.PasswordStdin {
		p1, err := readPassword(a.ctx, f, a.stderr, fmt.Sprintf("Password for %s: ", c.User))
		if err != nil {
			return "", err
		}
		if p1 == "" {
			return "", errors.New("empty password; nothing created")
		}
		p2, err := readPassword(a.ctx, f, a.stderr, "Repeat password: ")
		if err != nil {
			return "", err
		}
		if p1 != p2 {
			return "", errors.New("passwords do not match; nothing created")
		}
		pw = p1
	} else {
		line, err := readLine(a.stdin)
		if err != nil {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw = line
	}
	if pw == "" {
		return "", errors.New("empty password; nothing created")
	}
	return pw, nil
}

// readLine reads one line without its line ending; a last line without one counts.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

type usersDeleteCmd struct {
	User string `arg:"" help:"Username."`
	Mode string `required:"" enum:"soft,hard" placeholder:"soft|hard" help:"soft keeps the user's messages for their partners; hard removes them too (${enum})."`
	Yes  bool   `short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
}

func (c *usersDeleteCmd) Run(a *app) error {
	if !c.Yes {
		f, ok := terminal(a.stdin)
		if !ok {
			return fmt.Errorf("refusing to delete %s without confirmation: stdin is not a terminal; pass --yes", c.User)
		}
		fmt.Fprintf(a.stderr, "Delete account %s (%s)? Type the username to confirm: ", c.User, c.Mode)
		answer, err := readTTYLine(a.ctx, f)
		if err != nil {
			return err
		}
		if strings.TrimSpace(answer) != c.User {
			return errors.New("confirmation did not match; nothing deleted")
		}
	}
	mode := adminv1.DeleteMode_DELETE_MODE_SOFT
	if c.Mode == "hard" {
		mode = adminv1.DeleteMode_DELETE_MODE_HARD
	}
	err := a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) error {
		_, err := cl.DeleteUser(ctx, &adminv1.DeleteUserRequest{Username: c.User, Mode: mode})
		return err
	})
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(map[string]string{"username": c.User, "action": "deleted", "mode": c.Mode})
	}
	fmt.Fprintf(a.stdout, "deleted %s (%s)\n", c.User, c.Mode)
	return nil
}

// readTTYLine reads a line from the terminal f, giving up when ctx ends (Ctrl-C).
func readTTYLine(ctx context.Context, f *os.File) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// A terminal in canonical mode hands over at most one line per read.
		var b strings.Builder
		buf := make([]byte, 1)
		for {
			n, err := f.Read(buf)
			if n == 1 {
				if buf[0] == '\n' {
					break
				}
				b.WriteByte(buf[0])
			}
			if err != nil {
				if errors.Is(err, io.EOF) && b.Len() > 0 {
					break
				}
				ch <- result{"", err}
				return
			}
		}
		ch <- result{strings.TrimRight(b.String(), "\r"), nil}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
