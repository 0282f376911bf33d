package main

import (
	"fmt"
	"strings"
)

// confirm asks question on the terminal and returns nil if the answer is yes. Without a
// terminal (a script) it returns nil when mustAsk is false, so existing scripts keep working,
// and refuses otherwise, naming --yes. yes (--yes) skips the question.
func (a *app) confirm(yes, mustAsk bool, question string) error {
	if yes {
		return nil
	}
	f, ok := terminal(a.stdin)
	if !ok {
		if mustAsk {
			return fmt.Errorf("refusing without confirmation: %s; stdin is not a terminal, pass --yes", strings.TrimSuffix(question, "?"))
		}
		return nil
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	answer, err := readTTYLine(a.ctx, f)
	if err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("not confirmed; nothing changed")
}
