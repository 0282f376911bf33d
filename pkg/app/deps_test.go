package app_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/minimost/minimost/"

// imports returns the packages of this module that pkg imports directly.
func imports(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pkg, err, out)
	}
	var ours []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, module) {
			ours = append(ours, strings.TrimPrefix(p, module))
		}
	}
	return ours
}

// TestDeps_Layers checks the shape of the code: the edges (web server, admin service) call
// the application layer; the application layer knows neither them nor the concrete store,
// hub or transport; pkg/daemon only wires, and cmd/minimostd only runs it.
func TestDeps_Layers(t *testing.T) {
	t.Parallel()
	for _, edge := range []string{"pkg/webserver", "pkg/admin"} {
		deps := imports(t, edge)
		if !slices.Contains(deps, "pkg/app") {
			t.Errorf("%s does not use pkg/app (imports %v)", edge, deps)
		}
		if slices.Contains(deps, "pkg/store") {
			t.Errorf("%s imports pkg/store: it must go through pkg/app", edge)
		}
	}
	for _, dep := range imports(t, "pkg/app") {
		switch dep {
		case "pkg/webserver", "pkg/admin", "pkg/store", "pkg/hub", "pkg/daemon", "pkg/outbound":
			t.Errorf("pkg/app imports %s: the application layer depends on interfaces only", dep)
		}
	}
	if deps := imports(t, "cmd/minimostd"); !slices.Equal(deps, []string{"pkg/daemon"}) {
		t.Errorf("cmd/minimostd imports %v, want only pkg/daemon (which wires the parts)", deps)
	}
	for _, dep := range imports(t, "pkg/daemon") {
		if dep == "pkg/chat" {
			t.Errorf("pkg/daemon uses pkg/chat: it should only wire, with no rules of its own")
		}
	}
}
