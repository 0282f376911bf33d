package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish."`
}

// Run prints a completion script for the shell, made from the command grammar itself (so it
// always lists the commands and flags this minimostctl has), without asking the daemon.
func (c *completionCmd) Run(a *app, k *kong.Context) error {
	nodes := completionNodes(k.Model.Node)
	switch c.Shell {
	case "bash":
		writeBash(a.stdout, nodes)
	case "zsh":
		// zsh runs the bash script through its bash compatibility layer.
		fmt.Fprintln(a.stdout, "#compdef minimostctl")
		fmt.Fprintln(a.stdout, "autoload -U +X bashcompinit && bashcompinit")
		writeBash(a.stdout, nodes)
	case "fish":
		writeFish(a.stdout, nodes)
	}
	return nil
}

// compNode is one command path of the grammar with what may follow it.
type compNode struct {
	path  string // " users create"; "" for minimostctl itself
	words []compWord
	flags []compWord // the node's own flags ("--name"; "-y" for a short one)
}

type compWord struct{ word, help string }

// completionNodes lists every command path, in grammar order.
func completionNodes(root *kong.Node) []compNode {
	var out []compNode
	var walk func(n *kong.Node, path string)
	walk = func(n *kong.Node, path string) {
		cn := compNode{path: path}
		for _, f := range n.Flags {
			if f.Hidden {
				continue
			}
			cn.flags = append(cn.flags, compWord{"--" + f.Name, f.Help})
			if f.Short != 0 {
				cn.flags = append(cn.flags, compWord{"-" + string(f.Short), f.Help})
			}
		}
		for _, ch := range n.Children {
			if ch.Hidden || ch.Type != kong.CommandNode {
				continue
			}
			cn.words = append(cn.words, compWord{ch.Name, ch.Help})
		}
		for _, p := range n.Positional {
			if p.Enum != "" {
				for _, e := range p.EnumSlice() {
					cn.words = append(cn.words, compWord{e, p.Help})
				}
			}
		}
		out = append(out, cn)
		for _, ch := range n.Children {
			if !ch.Hidden && ch.Type == kong.CommandNode {
				walk(ch, path+" "+ch.Name)
			}
		}
	}
	walk(root, "")
	return out
}

func words(ws []compWord) string {
	var s []string
	for _, w := range ws {
		s = append(s, w.word)
	}
	return strings.Join(s, " ")
}

// writeBash writes the bash script: the command path so far (words that are known
// subcommands; flags and their values are skipped), then its subcommands or, after "-", the
// flags of the path and of every command above it (kong takes a parent's flags anywhere).
func writeBash(w io.Writer, nodes []compNode) {
	var paths []string
	for _, n := range nodes[1:] {
		paths = append(paths, n.path)
	}
	fmt.Fprintf(w, `# bash completion for minimostctl (minimostctl completion bash)
_minimostctl() {
  local cur="${COMP_WORDS[COMP_CWORD]}" path="" w i
  local known="|%s|"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    [[ "$known" == *"|$path $w|"* ]] && path="$path $w"
  done
  local words="" flags=""
  case "$path" in
`, strings.Join(paths, "|"))
	for i, n := range nodes {
		var flags []compWord
		for _, m := range nodes[:i+1] {
			if strings.HasPrefix(n.path+" ", m.path+" ") {
				flags = append(flags, m.flags...)
			}
		}
		fmt.Fprintf(w, "    %q) words=%q; flags=%q ;;\n", n.path, words(n.words), words(flags))
	}
	fmt.Fprint(w, `  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F _minimostctl minimostctl
`)
}

// writeFish writes the fish script: one complete line per subcommand and flag, each under
// the condition that the command line so far is at its path (a flag: at or under it).
func writeFish(w io.Writer, nodes []compNode) {
	var paths []string
	for _, n := range nodes[1:] {
		paths = append(paths, fishQuote(n.path))
	}
	fmt.Fprintf(w, `# fish completion for minimostctl (minimostctl completion fish)
set -g __minimostctl_paths %s
function __minimostctl_path
    set -l path ""
    for w in (commandline -opc)[2..-1]
        string match -q -- '-*' $w; and continue
        if contains -- "$path $w" $__minimostctl_paths
            set path "$path $w"
        end
    end
    echo $path
end
function __minimostctl_at
    set -l p (__minimostctl_path)
    test "$p" = "$argv[1]"
end
function __minimostctl_under
    set -l p (__minimostctl_path)
    string match -q -- "$argv[1]*" "$p"
end
complete -c minimostctl -f
`, strings.Join(paths, " "))
	for _, n := range nodes {
		at := fishQuote("__minimostctl_at " + fishQuote(n.path))
		under := fishQuote("__minimostctl_under " + fishQuote(n.path))
		for _, c := range n.words {
			fmt.Fprintf(w, "complete -c minimostctl -n %s -a %s -d %s\n", at, fishQuote(c.word), fishQuote(firstLine(c.help)))
		}
		for _, f := range n.flags {
			opt := "-l " + fishQuote(strings.TrimPrefix(f.word, "--"))
			if !strings.HasPrefix(f.word, "--") {
				opt = "-s " + fishQuote(strings.TrimPrefix(f.word, "-"))
			}
			fmt.Fprintf(w, "complete -c minimostctl -n %s %s -d %s\n", under, opt, fishQuote(firstLine(f.help)))
		}
	}
}

// fishQuote quotes s for fish: single quotes, with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	return s
}
