package reconcile

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain depends on no adapter: reconcile declares the ports it needs
// and db and s3ops implement them. A test helper that needs the real servers
// belongs under internal/, not under reconcile/, or every importer of the
// domain would build the MySQL driver and the AWS SDK.
func TestNoAdapterDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v", err)
	}
	forbidden := []string{"github.com/go-sql-driver/mysql", "github.com/aws/aws-sdk-go-v2", "trashd/db", "trashd/s3ops"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("package reconcile depends on %s", pkg)
			}
		}
	}
}

// The domain imports the standard library only: the scheduler (and its
// cron parser) lives in internal/service, and the boot clock reads
// CLOCK_BOOTTIME through package syscall. A standard library package has
// no dot in its first path element; reconcile itself is the one exception.
func TestStandardLibraryOnly(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	for _, goos := range []string{"linux", "darwin"} {
		cmd := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps: %v", goos, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if pkg != "trashd/reconcile" {
				t.Errorf("GOOS=%s: package reconcile depends on %s, which is not in the standard library", goos, pkg)
			}
		}
	}
}
