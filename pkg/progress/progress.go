// Package progress lets a long operation over many databases or files (a backup, an integrity
// check, a vacuum, a cleanup) tell whoever started it how far it is, without a parameter on
// every function on the way: the caller puts a Func in the context, the operation reports to
// it. Without a Func in the context, reporting does nothing.
package progress

import (
	"context"
	"fmt"
)

// Report is one step of an operation.
type Report struct {
	// Phase names the part of the operation: "databases", "files", "manifest".
	Phase string
	// Done counts the items of the phase finished so far; Total is how many there are
	// (0 when not known in advance).
	Done, Total int
	// Bytes is the size of what the phase has processed so far.
	Bytes int64
	// Current is the item just finished, e.g. "users/alice.db".
	Current string
}

// Func receives reports. It is called on the operation's goroutine and must not block.
type Func func(Report)

type key struct{}

// With returns a context whose operations report their progress to fn.
func With(ctx context.Context, fn Func) context.Context {
	return context.WithValue(ctx, key{}, fn)
}

// Send reports r to the Func in ctx, if any.
func Send(ctx context.Context, r Report) {
	if fn, ok := ctx.Value(key{}).(Func); ok && fn != nil {
		fn(r)
	}
}

// Prefixed returns a context whose reports reach ctx's Func with prefix before their phase,
// for an operation run as a step of another (the verification of the previous backup in an
// incremental backup: "verify databases").
func Prefixed(ctx context.Context, prefix string) context.Context {
	fn, ok := ctx.Value(key{}).(Func)
	if !ok || fn == nil {
		return ctx
	}
	return With(ctx, func(r Report) {
		r.Phase = prefix + r.Phase
		fn(r)
	})
}

// Counter counts the items of one phase and reports each one.
type Counter struct {
	ctx   context.Context
	r     Report
	quiet bool
}

// Start begins a phase of total items (0: unknown) and reports it at 0.
func Start(ctx context.Context, phase string, total int) *Counter {
	c := &Counter{ctx: ctx, r: Report{Phase: phase, Total: total}}
	_, ok := ctx.Value(key{}).(Func)
	c.quiet = !ok
	if !c.quiet {
		Send(ctx, c.r)
	}
	return c
}

// Add records one finished item of size bytes and reports it.
func (c *Counter) Add(item string, bytes int64) {
	c.r.Done++
	c.r.Bytes += bytes
	c.r.Current = item
	if !c.quiet {
		Send(c.ctx, c.r)
	}
}

// Enabled tells whether anyone listens, so that an operation can skip work (such as
// counting items in advance) that only a report needs.
func Enabled(ctx context.Context) bool {
	fn, ok := ctx.Value(key{}).(Func)
	return ok && fn != nil
}

// Bytes renders a size for people: 0 B, 812 B, 4.0 MiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
