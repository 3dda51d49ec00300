package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// documentedGrants returns the SQL blocks of docs/operations.md's "MySQL
// grants" section, each as its statements: the migrating user's, then the
// service user's.
func documentedGrants(t *testing.T) (migrating, service []string) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### MySQL grants\n")
	if !ok {
		t.Fatal(`docs/operations.md has no "### MySQL grants" section`)
	}
	section, _, _ = strings.Cut(section, "\n### ")
	var blocks [][]string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(section, -1) {
		var stmts []string
		for _, s := range strings.Split(m[1], ";") {
			if s = strings.Join(strings.Fields(s), " "); s != "" {
				stmts = append(stmts, s)
			}
		}
		blocks = append(blocks, stmts)
	}
	if len(blocks) != 2 {
		t.Fatalf("docs/operations.md's MySQL grants have %d SQL blocks, want 2 (the migrating user's, the service user's)", len(blocks))
	}
	return blocks[0], blocks[1]
}

// createDocumentedUser runs one documented block for database and table as
// a user of its own, dropped at the end, and returns the variables that
// make trashd connect as it.
func createDocumentedUser(t *testing.T, env *testworld.Env, stmts []string) []string {
	t.Helper()
	b := make([]byte, 5)
	rand.Read(b)
	user := "trashd_g" + hex.EncodeToString(b)
	account, password := "'"+user+"'@'%'", "pw-"+user
	t.Cleanup(func() { env.DB.Exec("DROP USER IF EXISTS " + account) })
	accountRef := regexp.MustCompile(`'[a-z_]+'@'%'`)
	for _, s := range stmts {
		s = accountRef.ReplaceAllString(s, account)
		s = strings.ReplaceAll(s, "IDENTIFIED BY '…'", "IDENTIFIED BY '"+password+"'")
		s = strings.ReplaceAll(s, " ON lms.files ", " ON `"+env.DBOptions.Database+"`.`"+env.LMS.Table+"` ")
		s = strings.ReplaceAll(s, " ON lms.", " ON `"+env.DBOptions.Database+"`.")
		if _, err := env.DB.Exec(s); err != nil {
			t.Fatalf("documented statement %q: %v", s, err)
		}
	}
	return []string{"TRASHD_MYSQL_USER=" + user, "TRASHD_MYSQL_PASSWORD=" + password}
}

// The grants docs/operations.md documents are exactly enough: the migrating
// user migrates, the service user runs a pass, and a user that can only
// read is told what it lacks before anything changes.
func TestDocumentedGrants(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for _, key := range []string{"grants/a.pdf", "grants/b.pdf", "grants/c.pdf"} {
		env.AddFile(t, key, testworld.Body(key, 100), true, 0)
	}
	migrating, service := documentedGrants(t)

	migrator := createDocumentedUser(t, env, migrating)
	if r := trashd(t, with(env.Vars(), migrator...), "migrate"); r.code != 0 {
		t.Fatalf("migrate with the documented grants: exit %d\n%s", r.code, r.stderr)
	}
	if r := trashd(t, with(env.Vars(), migrator...), "migrate", "status"); r.code != 0 || !strings.Contains(r.stdout, "applied version") {
		t.Errorf("migrate status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	readOnly := createDocumentedUser(t, env, []string{
		"CREATE USER 'ro'@'%' IDENTIFIED BY '…'",
		"GRANT SELECT ON lms.* TO 'ro'@'%'",
	})
	r := trashd(t, with(env.Vars(), readOnly...), "reconcile")
	if r.code == 0 || !strings.Contains(r.stderr, "lacks INSERT on trash_objects") {
		t.Errorf("reconcile as a read-only user: exit %d, want a failure naming the missing privilege\n%s", r.code, r.stderr)
	}
	if got := env.States(t); len(got) != 0 {
		t.Errorf("the read-only user's pass recorded %v", got)
	}

	svc := createDocumentedUser(t, env, service)
	r = trashd(t, with(env.Vars(), svc...), "reconcile")
	if r.code != 0 || !strings.Contains(r.stdout, "moved 3") {
		t.Fatalf("reconcile with the documented service grants: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 3 {
		t.Errorf("states %v, want 3 in_trash", got)
	}
	if r := trashd(t, with(env.Vars(), svc...), "status"); r.code != 0 {
		t.Errorf("status with the service grants: exit %d\n%s", r.code, r.stderr)
	}
	env.CheckInvariant(t)
}
