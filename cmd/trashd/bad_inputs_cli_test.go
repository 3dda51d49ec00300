package main_test

import (
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"trashd/s3ops/s3test"
)

// cliCase runs trashd once against w and checks its exit code, that the
// output names wants and lacks lacks, and that nothing changed in MySQL or
// either bucket.
func cliCase(t *testing.T, w *badWorld, vars, args []string, code int, wants, lacks []string) result {
	t.Helper()
	before := takeFingerprint(t, w.env)
	r := trashdQuick(t, time.Minute, with(w.vars, vars...), args...)
	checkOutput(t, r, args, code, wants, lacks)
	if d := before.diff(takeFingerprint(t, w.env)); d != "" {
		t.Errorf("trashd %s changed things: %s", strings.Join(args, " "), d)
	}
	return r
}

func checkOutput(t *testing.T, r result, args []string, code int, wants, lacks []string) {
	t.Helper()
	out := r.stderr + r.stdout
	t.Logf("trashd %s: exit %d\n%s", strings.Join(args, " "), r.code, out)
	if r.code != code {
		t.Errorf("trashd %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("trashd %s: output does not mention %q:\n%s", strings.Join(args, " "), want, out)
		}
	}
	for _, lack := range lacks {
		if strings.Contains(out, lack) {
			t.Errorf("trashd %s: output says %q:\n%s", strings.Join(args, " "), lack, out)
		}
	}
}

// holdLease gives LMS row id's record a lease that another host holds for
// an hour, as a pass working on it would.
func holdLease(t *testing.T, w *badWorld, id int64) {
	t.Helper()
	if _, err := w.env.DB.ExecContext(t.Context(), "UPDATE trash_objects SET lease_owner = 'web7:4242:beef', lease_token = 'held-by-a-pass',"+
		" lease_expires_at = NOW(6) + INTERVAL 1 HOUR WHERE lms_id = ?", id); err != nil {
		t.Fatal(err)
	}
}

func setState(t *testing.T, w *badWorld, id int64, state, reason string) {
	t.Helper()
	if _, err := w.env.DB.ExecContext(t.Context(), "UPDATE trash_objects SET state = ?, last_error = ?, finished_at = NOW(6) WHERE lms_id = ?",
		state, reason, id); err != nil {
		t.Fatal(err)
	}
}

// Command lines that used to mislead: each gets the message that says what
// is going on, and changes nothing.
func TestBadInputsCLI(t *testing.T) {
	w := newBadWorld(t)
	failed, missing, leased, notFound := w.moved[0], w.moved[1], w.moved[2], w.pending[0]
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	t.Run("https endpoint on a plain-HTTP port", func(t *testing.T) {
		// The real SeaweedFS, asked for TLS on its HTTP port.
		u, err := url.Parse(s3test.Endpoint())
		if err != nil {
			t.Fatal(err)
		}
		before := takeFingerprint(t, w.env)
		args := []string{"reconcile"}
		r := trashdQuick(t, time.Minute, with(w.vars, "TRASHD_S3_ENDPOINT=https://"+u.Host), args...)
		checkOutput(t, r, args, 1, []string{"the pass could not run", "plain HTTP", "use http:// in TRASHD_S3_ENDPOINT"},
			[]string{"transient", "attempts"})
		// The pass stopped at its bucket check: one run recorded in
		// error, nothing else.
		after := takeFingerprint(t, w.env)
		errorRuns(t, w.env.DB, before.runs, 1)
		want := before
		want.tables = map[string]string{}
		for table, sum := range before.tables {
			want.tables[table] = sum
		}
		want.tables["trash_runs"], want.runs = after.tables["trash_runs"], before.runs+1
		if d := want.diff(after); d != "" {
			t.Errorf("changed things: %s", d)
		}
	})

	// A failed and a missing record to retry, and one a pass holds.
	setState(t, w, failed, "failed", "access denied: the IAM policy must allow s3:GetObject")
	setState(t, w, missing, "missing", "the source object is gone")

	type cliTest struct {
		name  string
		args  []string
		code  int
		wants []string
		lacks []string
	}
	run := func(cases []cliTest) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cliCase(t, w, nil, tc.args, tc.code, tc.wants, tc.lacks)
			})
		}
	}
	run([]cliTest{
		{"retry --state in capitals", []string{"retry", "--dry-run", "--state", "FAILED"}, 0,
			[]string{"LMS row " + id(failed) + " (record", "failed would go to copied", "would re-queue 1"}, []string{"LMS row " + id(missing)}},
		{"retry --state twice", []string{"retry", "--dry-run", "--state", "failed", "--state", "Missing"}, 0,
			[]string{"LMS row " + id(failed) + " (record", "LMS row " + id(missing) + " (record", "missing would go to copied"}, nil},
		{"retry --state with commas", []string{"retry", "--dry-run", "--state", "failed,missing"}, 0,
			[]string{"LMS row " + id(failed) + " (record", "LMS row " + id(missing) + " (record"}, nil},
		{"retry --state of a state not retried", []string{"retry", "--state", "failed", "--state", "in_trash"}, 2,
			[]string{"in_trash", "only failed or missing records are retried", "usage: trashd retry"}, nil},
		{"retry 0", []string{"retry", "0"}, 3,
			[]string{"no record for LMS row 0"}, []string{"not an LMS row id", "usage:"}},
		{"retry a negative id read as a flag", []string{"retry", "-5"}, 2,
			[]string{"-5", "goes after --: trashd retry -- -5", "usage: trashd retry"}, nil},
		{"retry a negative id after --", []string{"retry", "--", "-5"}, 3,
			[]string{"no record for LMS row -5"}, []string{"not an LMS row id"}},
		{"retry a row with no record", []string{"retry", id(w.live[0])}, 3,
			[]string{"no record for LMS row " + id(w.live[0])}, nil},
		{"retry a trashed row not found yet", []string{"retry", id(notFound)}, 3,
			[]string{"no record for LMS row " + id(notFound)}, nil},
	})

	// A failed record that a pass holds (a restore working on it).
	setState(t, w, leased, "failed", "")
	holdLease(t, w, leased)
	run([]cliTest{
		{"retry --dry-run of a record a pass holds", []string{"retry", "--dry-run", "--state", "failed"}, 3,
			[]string{"failed would go to copied", "LMS row " + id(leased) + " (record", "failed): skipped: it is being worked on by a pass",
				"would re-queue 1 (1 to copied, 0 to pending), skipped 1"}, nil},
		{"retry a record a pass holds", []string{"retry", id(leased)}, 3,
			[]string{"LMS row " + id(leased), "skipped: it is being worked on by a pass", "leased by web7:4242:beef until", "try again once that pass has ended"},
			[]string{"changed meanwhile"}},
		{"help help", []string{"help", "help"}, 0,
			[]string{"usage: trashd help [COMMAND]", "trashd config"}, []string{"unknown command"}},
		{"help --help", []string{"help", "--help"}, 0,
			[]string{"usage: trashd help [COMMAND]"}, []string{"unknown command"}},
	})

	t.Run("retry a record in another state", func(t *testing.T) {
		setState(t, w, failed, "in_trash", "")
		cliCase(t, w, nil, []string{"retry", id(failed)}, 3,
			[]string{"the record of LMS row " + id(failed) + " is in_trash, not failed or missing"}, nil)
	})

	t.Run("restore of a record a pass holds", func(t *testing.T) {
		setState(t, w, leased, "in_trash", "")
		w.env.Untrash(t, leased)
		before := takeFingerprint(t, w.env)
		args := []string{"restore", id(leased)}
		r := trashdQuick(t, time.Minute, w.vars, args...)
		checkOutput(t, r, args, 3, []string{"LMS row " + id(leased) + " is in_trash: it is being worked on by a pass",
			"leased by web7:4242:beef until", "try again"}, []string{"in_trash: \n"})
		// The restore is asked for (the pass will see it), and that is
		// all: the record keeps its state and the pass its lease, and no
		// object moved.
		after := takeFingerprint(t, w.env)
		for bucket, l := range before.buckets {
			if after.buckets[bucket] != l {
				t.Errorf("bucket %s changed:\nbefore:\n%s\nafter:\n%s", bucket, l, after.buckets[bucket])
			}
		}
		var state, owner string
		var requested bool
		if err := w.env.DB.QueryRowContext(t.Context(), "SELECT state, lease_owner, restore_requested_at IS NOT NULL FROM trash_objects WHERE lms_id = ?",
			leased).Scan(&state, &owner, &requested); err != nil {
			t.Fatal(err)
		}
		if state != "in_trash" || owner != "web7:4242:beef" || !requested {
			t.Errorf("record: state %s, lease owner %s, restore requested %v; want in_trash, the pass's lease, requested", state, owner, requested)
		}
	})
}

// Every command's help ends by pointing at `trashd config` for the
// variables.
func TestHelpPointsAtConfig(t *testing.T) {
	t.Parallel()
	for _, name := range append(commandNames, "doctor") {
		r := trashd(t, nil, name, "--help")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || !strings.Contains(lines[len(lines)-2]+lines[len(lines)-1], "`trashd config` prints every one") {
			t.Errorf("trashd %s --help: exit %d, does not end pointing at trashd config:\n%s", name, r.code, r.stdout)
		}
	}
}

// trigger as a user who may not open the control socket says who may,
// rather than asking whether the service runs.
func TestTriggerSocketDenied(t *testing.T) {
	t.Parallel()
	// The socket as the unit has it: mode 0660 in a directory of mode 0750,
	// both root's; a listener holds it, so that it is there to be refused.
	dir := filepath.Join(openDir(t), "run")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "control.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := os.Chmod(sock, 0o660); err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()

	cmd := command(t.Context(), []string{"TRASHD_CONTROL_SOCKET=" + sock}, "trigger")
	if os.Getuid() == 0 {
		// Root opens anything: run as nobody, from a copy of the binary
		// that nobody may run.
		bin := copyExecutable(t, trashdBin)
		cmd.Path, cmd.Args[0] = bin, bin
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else if err := os.Chmod(dir, 0); err != nil { // not even its owner may enter
		t.Fatal(err)
	} else {
		t.Cleanup(func() { os.Chmod(dir, 0o750) })
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, result{code: code, stdout: out.String(), stderr: errb.String()}, []string{"trigger"}, 1,
		[]string{"permission denied", "may not open the control socket", "root", "group trashd", "Who may trigger"},
		[]string{"is the service running"})
	select {
	case <-accepted:
		t.Error("the listener accepted a connection: the socket was not refused")
	default:
	}
}

// openDir is a new directory that anyone may enter, removed after the test.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "trashd-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyExecutable copies the binary at path into a directory anyone may
// enter, executable by anyone.
func copyExecutable(t *testing.T, path string) string {
	t.Helper()
	dir := openDir(t)
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, "trashd")
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, src); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}
