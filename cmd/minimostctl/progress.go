package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
	"google.golang.org/grpc"

	"github.com/minimost/minimost/pkg/progress"
	adminv1 "github.com/minimost/minimost/proto/minimost/admin/v1"
)

// progressOut shows a long operation's progress on stderr, never on stdout (which holds the
// result, or the --json document): on a terminal, one bar redrawn in place; otherwise plain
// lines, one per tenth of each phase, so that a log (a systemd timer's, say) shows how far
// a backup went without a line per database.
type progressOut struct {
	w     io.Writer
	op    string // "backup", "vacuum", …
	tty   bool
	width int // the terminal's columns

	last    *adminv1.Progress
	printed bool // last is on the output
	tenth   int  // the last tenth of the phase printed as a plain line
	drawn   bool // a bar is on the current line
	now     func() time.Time
	lastAt  time.Time
}

// newProgress returns the progress output for op on a's stderr; nil (which shows nothing)
// with --no-progress.
func (a *app) newProgress(op string) *progressOut {
	if a.noProgress {
		return nil
	}
	p := &progressOut{w: a.stderr, op: op, width: 80, now: time.Now}
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			p.width = w
		}
	}
	return p
}

// update shows pr.
func (p *progressOut) update(pr *adminv1.Progress) {
	if p == nil || pr == nil {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", renderBar(p.op, pr, p.width))
		p.drawn = true
		p.last = pr
		return
	}
	if p.last != nil && p.last.GetPhase() != pr.GetPhase() {
		if !p.printed {
			fmt.Fprintln(p.w, plainLine(p.op, p.last))
		}
		p.tenth = -1
	} else if p.last == nil {
		p.tenth = -1
	}
	p.last, p.printed = pr, false
	tenth := -1
	if pr.GetTotal() > 0 {
		tenth = int(10 * int64(pr.GetDone()) / int64(pr.GetTotal()))
	}
	// A line per tenth of a phase of known size; for one of unknown size (files), one at
	// its start and then at most one every 5 seconds.
	if tenth > p.tenth || (tenth < 0 && (pr.GetDone() == 0 || p.now().Sub(p.lastAt) >= 5*time.Second)) {
		fmt.Fprintln(p.w, plainLine(p.op, pr))
		p.tenth, p.printed, p.lastAt = max(tenth, p.tenth), true, p.now()
	}
}

// finish ends the output: the bar's line, or the last plain line not yet shown.
func (p *progressOut) finish() {
	if p == nil {
		return
	}
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
	if !p.tty && p.last != nil && !p.printed {
		fmt.Fprintln(p.w, plainLine(p.op, p.last))
		p.printed = true
	}
}

// plainLine is one progress line: "backup: databases 12/404 (2%), 3.1 MiB".
func plainLine(op string, pr *adminv1.Progress) string {
	if pr.GetTotal() > 0 {
		return fmt.Sprintf("%s: %s %d/%d (%d%%), %s", op, pr.GetPhase(), pr.GetDone(), pr.GetTotal(),
			100*int64(pr.GetDone())/int64(pr.GetTotal()), progress.Bytes(pr.GetBytes()))
	}
	return fmt.Sprintf("%s: %s %d, %s", op, pr.GetPhase(), pr.GetDone(), progress.Bytes(pr.GetBytes()))
}

// renderBar is the terminal's progress line, at most width columns:
// "backup databases [#######.............]  12/404  3.1 MiB  users/alice.db".
func renderBar(op string, pr *adminv1.Progress, width int) string {
	head := op + " " + pr.GetPhase() + " "
	var mid string
	if pr.GetTotal() > 0 {
		const barWidth = 20
		done := min(int(int64(barWidth)*int64(pr.GetDone())/int64(pr.GetTotal())), barWidth)
		mid = fmt.Sprintf("[%s%s] %d/%d  %s", strings.Repeat("#", done), strings.Repeat(".", barWidth-done),
			pr.GetDone(), pr.GetTotal(), progress.Bytes(pr.GetBytes()))
	} else {
		mid = fmt.Sprintf("%d  %s", pr.GetDone(), progress.Bytes(pr.GetBytes()))
	}
	line := head + mid
	if cur := pr.GetCurrent(); cur != "" {
		line += "  " + cur
	}
	if r := []rune(line); len(r) > width-1 {
		line = string(r[:width-1])
	}
	return line
}

// progressMsg is a message of a streaming call (a pointer to M): progress, or (when nil)
// the result.
type progressMsg[M any] interface {
	*M
	GetProgress() *adminv1.Progress
}

// follow runs a streaming call of a long operation: open starts it, each message's progress
// is shown on stderr, and keep receives every message (to take the result from the last).
func follow[M any, PM progressMsg[M]](a *app, op string, open func(ctx context.Context, cl adminv1.AdminServiceClient) (grpc.ServerStreamingClient[M], error), keep func(*M)) error {
	p := a.newProgress(op)
	defer p.finish()
	return a.call(true, func(ctx context.Context, cl adminv1.AdminServiceClient) error {
		stream, err := open(ctx, cl)
		if err != nil {
			return err
		}
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			p.update(PM(m).GetProgress())
			keep(m)
		}
	})
}
