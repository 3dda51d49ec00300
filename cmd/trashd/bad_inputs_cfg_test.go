package main_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// cfgCase is a configuration trashd refuses (code 2, nothing changed) or
// accepts with a warning (code 0, the warning printed once, nothing
// changed by a command that changes nothing).
type cfgCase struct {
	name  string
	vars  []string
	args  []string
	code  int
	wants []string // in the output: the thing named, and what to do
	once  string   // printed exactly once (a warning, the CRLF question)
	// hidden must not appear in the output (a secret's value).
	hidden string
}

func TestBadInputsCfg(t *testing.T) {
	w := newBadWorld(t)
	env := w.env
	var secret, accessKey, endpoint string
	for _, v := range w.vars {
		name, value, _ := strings.Cut(v, "=")
		switch name {
		case "AWS_SECRET_ACCESS_KEY":
			secret = value
		case "AWS_ACCESS_KEY_ID":
			accessKey = value
		case "TRASHD_S3_ENDPOINT":
			endpoint = value
		}
	}
	emptyPassword := filepath.Join(t.TempDir(), "mysql-password")
	if err := os.WriteFile(emptyPassword, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	enforce := "TRASHD_LIFECYCLE_MODE=enforce"
	cases := []cfgCase{
		// 2. CRLF env files: every value ends in \r.
		{"key template ending in CR", []string{"TRASHD_TRASH_KEY_TEMPLATE={id}/{key}\r"}, []string{"reconcile"}, 2,
			[]string{"TRASHD_TRASH_KEY_TEMPLATE", "control character", "carriage return"}, "CRLF line endings?", ""},
		{"rule id ending in CR, apply", []string{"TRASHD_LIFECYCLE_RULE_ID=trashd-archive\r"}, []string{"lifecycle", "--apply"}, 2,
			[]string{"TRASHD_LIFECYCLE_RULE_ID", "control character"}, "CRLF line endings?", ""},
		{"rule id ending in CR, enforce", []string{"TRASHD_LIFECYCLE_RULE_ID=trashd-archive\r", enforce}, []string{"reconcile"}, 2,
			[]string{"TRASHD_LIFECYCLE_RULE_ID"}, "CRLF line endings?", ""},
		{"every value ending in CR", []string{"TRASHD_TRASH_BUCKET=" + env.Trash + "\r", "TRASHD_SOURCE_BUCKET=" + env.Source + "\r", "TRASHD_LEASE=5m\r", "TRASHD_LOG_FORMAT=text\r"},
			[]string{"reconcile"}, 2, []string{"TRASHD_TRASH_BUCKET", "TRASHD_SOURCE_BUCKET", "TRASHD_LEASE", "TRASHD_LOG_FORMAT"}, "CRLF line endings?", ""},
		{"tab in the source bucket", []string{"TRASHD_SOURCE_BUCKET=lms\tfiles"}, []string{"reconcile"}, 2,
			[]string{"TRASHD_SOURCE_BUCKET", `'\t'`}, "control character", ""},
		{"secret key ending in CR", []string{"AWS_SECRET_ACCESS_KEY=" + secret + "\r"}, []string{"reconcile"}, 2,
			[]string{"AWS_SECRET_ACCESS_KEY", "control character"}, "CRLF line endings?", secret},
		{"access key id ending in CR", []string{"AWS_ACCESS_KEY_ID=" + accessKey + "\r"}, []string{"audit"}, 2,
			[]string{"AWS_ACCESS_KEY_ID", "control character"}, "CRLF line endings?", ""},
		{"region ending in CR", []string{"AWS_REGION=us-east-1\r"}, []string{"reconcile"}, 2,
			[]string{"AWS_REGION", "control character"}, "CRLF line endings?", ""},
		{"session token ending in CR", []string{"AWS_SESSION_TOKEN=token-4b7e\r"}, []string{"reconcile"}, 2,
			[]string{"AWS_SESSION_TOKEN", "control character"}, "CRLF line endings?", "token-4b7e"},
		{"profile ending in CR, config", []string{"AWS_PROFILE=default\r"}, []string{"config"}, 2,
			[]string{"AWS_PROFILE", "control character"}, "CRLF line endings?", ""},
		{"password ending in CR", []string{"TRASHD_MYSQL_PASSWORD=pw-5d1a\r"}, []string{"status"}, 2,
			[]string{"TRASHD_MYSQL_PASSWORD", "control character"}, "CRLF line endings?", "pw-5d1a"},

		// 3. Lifecycle settings that are ambiguous or useless.
		{"prefix no key starts with", []string{"TRASHD_LIFECYCLE_PREFIX=trash/"}, []string{"lifecycle", "--apply"}, 2,
			[]string{"TRASHD_LIFECYCLE_PREFIX", "matches no trash key", "{id}/{key}", "the whole trash bucket"}, "TRASHD_LIFECYCLE_PREFIX:", ""},
		{"prefix a slash", []string{"TRASHD_LIFECYCLE_PREFIX=/", enforce}, []string{"reconcile"}, 2,
			[]string{"TRASHD_LIFECYCLE_PREFIX", "matches no trash key"}, "TRASHD_LIFECYCLE_PREFIX:", ""},
		{"prefix beside the template's", []string{"TRASHD_TRASH_KEY_TEMPLATE=trash/{id}/{key}", "TRASHD_LIFECYCLE_PREFIX=archive/"}, []string{"reconcile"}, 2,
			[]string{"TRASHD_LIFECYCLE_PREFIX", "trash/{id}/{key}", `such as "trash/"`}, "TRASHD_LIFECYCLE_PREFIX:", ""},
		{"expiration with lifecycle off", []string{"TRASHD_EXPIRATION_DAYS=365"}, []string{"status"}, 0,
			[]string{"warning", "TRASHD_LIFECYCLE_MODE=off", "never applied", "trashd lifecycle --apply"}, "TRASHD_EXPIRATION_DAYS=365 is never applied", ""},
		{"expiration before GLACIER's minimum", []string{"TRASHD_EXPIRATION_DAYS=100", "TRASHD_LIFECYCLE_MODE=verify"}, []string{"status"}, 0,
			[]string{"warning", "70 days after it reached GLACIER", "90 days", "early deletion of 20 more days", "at least 120"}, "early deletion", ""},
		{"expiration before DEEP_ARCHIVE's minimum", []string{"TRASHD_EXPIRATION_DAYS=100", "TRASHD_STORAGE_CLASS=DEEP_ARCHIVE", "TRASHD_LIFECYCLE_MODE=verify"}, []string{"status"}, 0,
			[]string{"warning", "DEEP_ARCHIVE", "180 days", "at least 210"}, "early deletion", ""},

		// 4. Values whose failure used to mislead.
		{"bucket in the endpoint's path", []string{"TRASHD_S3_ENDPOINT=" + strings.TrimSuffix(endpoint, "/") + "/" + env.Trash}, []string{"reconcile"}, 2,
			[]string{"TRASHD_S3_ENDPOINT", "the endpoint is the server only", "TRASHD_TRASH_BUCKET", "TRASHD_SOURCE_BUCKET"}, "TRASHD_S3_ENDPOINT:", ""},
		{"unix socket as MySQL host", []string{"TRASHD_MYSQL_HOST=/run/mysqld/mysqld.sock"}, []string{"status"}, 2,
			[]string{"TRASHD_MYSQL_HOST", "unix socket", "TCP only", "TRASHD_MYSQL_PORT=3306"}, "TRASHD_MYSQL_HOST:", ""},
		{"empty password file", []string{"TRASHD_MYSQL_PASSWORD_FILE=" + emptyPassword, "TRASHD_MYSQL_PASSWORD="}, []string{"status"}, 2,
			[]string{"TRASHD_MYSQL_PASSWORD_FILE", emptyPassword, "is empty"}, "TRASHD_MYSQL_PASSWORD_FILE:", ""},
		{"metrics address without a port", []string{"TRASHD_METRICS_ADDR=127.0.0.1"}, []string{"serve"}, 2,
			[]string{"TRASHD_METRICS_ADDR", "numeric port", "127.0.0.1:9464"}, "TRASHD_METRICS_ADDR:", ""},
		{"metrics address with a named port", []string{"TRASHD_METRICS_ADDR=localhost:http"}, []string{"config"}, 2,
			[]string{"TRASHD_METRICS_ADDR", `port "http"`, "numeric port", "127.0.0.1:9464"}, "TRASHD_METRICS_ADDR:", ""},
	}

	before := takeFingerprint(t, env)
	rulesBefore := lifecycleRules(t, env)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := trashdQuick(t, 30*time.Second, with(w.vars, tc.vars...), tc.args...)
			out := r.stderr + r.stdout
			if r.code != tc.code {
				t.Errorf("trashd %s with %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), tc.vars, r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("trashd %s with %q: output does not mention %q:\n%s", strings.Join(tc.args, " "), tc.vars, want, out)
				}
			}
			if n := strings.Count(out, tc.once); n != 1 {
				t.Errorf("trashd %s with %q: %q printed %d times, want once:\n%s", strings.Join(tc.args, " "), tc.vars, tc.once, n, out)
			}
			if tc.hidden != "" && strings.Contains(out, tc.hidden) {
				t.Errorf("the output shows a secret's value (%.4s…)", tc.hidden)
			}
			after := takeFingerprint(t, env)
			if d := before.diff(after); d != "" {
				t.Errorf("trashd %s with %q changed things: %s", strings.Join(tc.args, " "), tc.vars, d)
			}
			if got := lifecycleRules(t, env); got != rulesBefore {
				t.Errorf("trashd %s with %q changed the trash bucket's lifecycle rules:\nbefore: %s\nafter:  %s", strings.Join(tc.args, " "), tc.vars, rulesBefore, got)
			}
			before = after
		})
	}

	// The same settings without their faults work: the refusals above are
	// the faults', not the world's.
	if r := trashdQuick(t, time.Minute, w.vars, "status"); r.code != 0 {
		t.Errorf("status in the same world: exit %d\n%s", r.code, r.stderr)
	}
}

// lifecycleRules is the trash bucket's lifecycle rules, by id, prefix and
// status, or "none".
func lifecycleRules(t *testing.T, env *testworld.Env) string {
	t.Helper()
	out, err := env.SDK.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(env.Trash)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchLifecycleConfiguration" {
		return "none"
	}
	if err != nil {
		t.Fatalf("get the lifecycle configuration of %s: %v", env.Trash, err)
	}
	var rules []string
	for _, r := range out.Rules {
		prefix := ""
		if r.Filter != nil && r.Filter.Prefix != nil {
			prefix = *r.Filter.Prefix
		}
		rules = append(rules, aws.ToString(r.ID)+" "+prefix+" "+string(r.Status))
	}
	return strings.Join(rules, "; ")
}

// TRASHD_ALLOW_MASS_CHANGE=true left in the service's environment: serve
// starts and works, and says once, at start, that every pass goes through
// the brake.
func TestServeWarnsOfAllowMassChange(t *testing.T) {
	env := testworld.New(t)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	env.AddFile(t, "trashed.txt", []byte("trashed"), true, 0)
	notify := newNotifySocket(t)
	vars := serveVars(t, env, "TRASHD_ALLOW_MASS_CHANGE=true", "TRASHD_LIFECYCLE_MODE=off", "NOTIFY_SOCKET="+notify.path)
	srv := startServe(t, vars)
	notify.expect(t, "READY=1")
	// A pass asked for and followed to its end moves the trashed file: the
	// service works.
	if r := trashd(t, vars, "trigger", "--wait"); r.code != 0 {
		t.Fatalf("trigger --wait: exit %d\n%s%s\n%s", r.code, r.stdout, r.stderr, srv.output())
	}
	if n := env.States(t)[reconcile.StateInTrash]; n != 1 {
		t.Fatalf("the pass moved nothing: states %v\n%s", env.States(t), srv.output())
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if code := srv.wait(t, time.Minute); code != 0 {
		t.Errorf("serve exited %d, want 0\n%s", code, srv.output())
	}
	out := srv.output()
	const warning = "TRASHD_ALLOW_MASS_CHANGE=true: every pass of the service goes through the mass-change brake"
	if n := strings.Count(out, warning); n != 1 {
		t.Errorf("the warning is printed %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{"warning", "one deliberate run", "unset it"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}

	// Other commands leave it to the brake's own message: no warning.
	if r := trashd(t, with(env.Vars(), "TRASHD_ALLOW_MASS_CHANGE=true"), "status"); strings.Contains(r.stderr, warning) || r.code != 0 {
		t.Errorf("status with TRASHD_ALLOW_MASS_CHANGE=true: exit %d, and only serve warns:\n%s", r.code, r.stderr)
	}
}
