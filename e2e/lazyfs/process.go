//go:build linux

package lazyfs

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Reply is lazyfsd's answer to a command.
type Reply struct {
	Stats Stats  `json:"stats"`
	Error string `json:"error,omitempty"`
}

// BuildServer builds the lazyfsd command into dir and returns its path (the go tool must be
// on PATH, and the working directory in this module).
func BuildServer(dir string) (string, error) {
	bin := filepath.Join(dir, "lazyfsd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/minimost/minimost/e2e/lazyfs/lazyfsd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build lazyfsd: %v\n%s", err, out)
	}
	return bin, nil
}

// Process is a lazy file system served by a lazyfsd child process (see the lazyfsd
// command): the way to use one from a process that also starts the programs using the mount.
type Process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *strings.Builder
	mu     sync.Mutex
	done   bool
}

// replyTimeout bounds how long a command may take before the server is killed (which
// aborts its FUSE connection).
const replyTimeout = 2 * time.Minute

// Start runs bin (lazyfsd) to mount backing at mountpoint and waits until it serves.
func Start(bin, backing, mountpoint string, opts Options) (*Process, error) {
	cmd := exec.Command(bin, "-backing", backing, "-mount", mountpoint, fmt.Sprintf("-drop-unsynced-metadata=%v", opts.DropUnsyncedMetadata))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, stdin: stdin, lines: make(chan string, 16), stderr: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	line, err := p.next()
	if err != nil || line != "ready" {
		p.kill()
		if err == nil {
			err = errors.New(strings.TrimPrefix(line, "error: "))
		}
		return nil, fmt.Errorf("lazyfsd: %w", err)
	}
	return p, nil
}

// lockedWriter serialises writes (the process writes while a caller may read).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *Process) next() (string, error) {
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.cmd.Wait()
			return "", fmt.Errorf("exited: %v %s", p.cmd.ProcessState, p.stderr.String())
		}
		return line, nil
	case <-time.After(replyTimeout):
		return "", fmt.Errorf("no answer within %v", replyTimeout)
	}
}

func (p *Process) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// command sends cmd and returns the answer; with last, it then waits for the server to exit.
func (p *Process) command(cmd string, last bool) (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return Stats{}, errors.New("lazyfs: the server has already stopped")
	}
	if last {
		p.done = true
	}
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		p.kill()
		return Stats{}, fmt.Errorf("lazyfsd %s: %w", cmd, err)
	}
	line, err := p.next()
	if err != nil {
		p.kill()
		return Stats{}, fmt.Errorf("lazyfsd %s: %w", cmd, err)
	}
	var r Reply
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		p.kill()
		return Stats{}, fmt.Errorf("lazyfsd %s: bad answer %q", cmd, line)
	}
	if last {
		p.stdin.Close()
		exited := make(chan error, 1)
		go func() { exited <- p.cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(replyTimeout):
			p.kill()
		}
	}
	if r.Error != "" {
		return r.Stats, errors.New(r.Error)
	}
	return r.Stats, nil
}

// Stats returns what is pending now (see FS.Stats).
func (p *Process) Stats() (Stats, error) { return p.command("stats", false) }

// PowerCut cuts the power (see FS.PowerCut); the server then exits.
func (p *Process) PowerCut() (Stats, error) { return p.command("cut", true) }

// Unmount unmounts cleanly (see FS.Unmount); the server then exits. It does nothing after
// PowerCut.
func (p *Process) Unmount() error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done {
		return nil
	}
	_, err := p.command("unmount", true)
	return err
}
