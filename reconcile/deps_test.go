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
