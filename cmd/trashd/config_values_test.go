package main

import (
	"bytes"
	"maps"
	"reflect"
	"strings"
	"testing"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// Values that parse but make no sense are refused, each under its own
// variable, with what to do.
func TestParseRefusesValuesThatMakeNoSense(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        string // in the problem reported for name
	}{
		{"TRASHD_PRICE_GLACIER", "NaN", "is not a price in USD per GB-month"},
		{"TRASHD_PRICE_STANDARD", "+Inf", "is not a price in USD per GB-month"},
		{"TRASHD_PRICE_DEEP_ARCHIVE", "-0.001", "is not a price in USD per GB-month"},
		{"TRASHD_PRICE_GLACIER_IR", "cheap", "is not a price in USD per GB-month"},
		{"TRASHD_LIFECYCLE_DAY_LENGTH", "500ms", "shorter than 1s"},
		{"TRASHD_MASS_CHANGE_SHARE", "NaN", "is not a share above 0 and at most 1"},
		{"TRASHD_TRASH_KEY_TEMPLATE", "trash//{id}/{key}", "empty path segment"},
		{"TRASHD_TRASH_KEY_TEMPLATE", "{id}/{key}/", "empty path segment"},
		{"TRASHD_TRASH_KEY_TEMPLATE", "trash/./{id}/{key}", `a "." path segment`},
		{"TRASHD_TRASH_KEY_TEMPLATE", "../{id}/{key}", `a ".." path segment`},
		{"TRASHD_TRASH_KEY_TEMPLATE", "/{id}/{key}", "must not start with /"},
		{"TRASHD_TRASH_KEY_TEMPLATE", strings.Repeat("x", 1000) + "/{id}/{key}", "even with {key} hashed"},
		{"TRASHD_TRASH_BUCKET", "My_Trash", "not a valid S3 bucket name"},
		{"TRASHD_TRASH_BUCKET", "files", "is also TRASHD_SOURCE_BUCKET"},
		{"TRASHD_SOURCE_BUCKET", "192.168.1.1", "formatted as an IP address"},
		{"TRASHD_CONCURRENCY", "0", "from 1 to 1024"},
		{"TRASHD_MYSQL_PORT", "0", "from 1 to 65535"},
		{"TRASHD_MYSQL_TLS", "maybe", "is not one of auto, true, false"},
		{"TRASHD_MYSQL_MAX_OPEN_CONNS", "0", "from 1 to 10000"},
		{"TRASHD_BACKOFF_MAX", "1s", "below TRASHD_BACKOFF_BASE"},
		{"TRASHD_EXPIRATION_DAYS", "20", "more than TRASHD_TRANSITION_DAYS"},
		{"TRASHD_ABORT_UPLOADS_DAYS", "7", "when TRASHD_TRANSITION_MIN_SIZE is set"}, // with the min size below
		{"TRASHD_STORAGE_CLASS", "STANDARD_IA", "is not one of GLACIER"},
		{"TRASHD_TRANSITION_MIN_SIZE", "99999999TiB", "is not a size"},
		{"TRASHD_PART_SIZE", "1MiB", "from 5MiB to 5GiB"},
		{"TRASHD_RESTORE_TIER", "Instant", "is not one of Expedited"},
		{"TRASHD_LEASE", "500ms", "too short"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			e := defaults(t)
			e.vars["TRASHD_TRASH_BUCKET"], e.vars["TRASHD_SOURCE_BUCKET"] = "trash", "files"
			e.vars[tc.name] = tc.value
			if tc.name == "TRASHD_ABORT_UPLOADS_DAYS" {
				e.vars["TRASHD_TRANSITION_MIN_SIZE"] = "1MiB"
			}
			_, err := parse(e)
			if err == nil {
				t.Fatalf("parse accepted %s=%q", tc.name, tc.value)
			}
			var line string
			for _, l := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), tc.name+": ") && strings.Contains(l, tc.want) {
					line = l
				}
			}
			if line == "" {
				t.Errorf("no problem for %s containing %q in:\n%v", tc.name, tc.want, err)
			}
			if strings.Count(err.Error(), tc.name+": ") > 1 && tc.name != "TRASHD_TRASH_BUCKET" && tc.name != "TRASHD_LEASE" {
				t.Errorf("%s is reported more than once:\n%v", tc.name, err)
			}
		})
	}
}

// The defaults are the packages' own constants: one owner per setting.
func TestParseDefaultsAreThePackagesConstants(t *testing.T) {
	e := defaults(t)
	e.vars["TRASHD_TRASH_BUCKET"], e.vars["TRASHD_SOURCE_BUCKET"] = "trash", "files"
	cfg, err := parse(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"DB.MaxOpenConns", cfg.DB.MaxOpenConns, db.DefaultMaxOpenConns},
		{"DB.TLS", cfg.DB.TLS, db.TLSAuto},
		{"DB.ReadTimeout", cfg.DB.ReadTimeout, db.DefaultIOTimeout},
		{"S3.PartSize", cfg.S3.PartSize, int64(s3ops.DefaultPartSize)},
		{"S3.MultipartThreshold", cfg.S3.MultipartThreshold, s3ops.DefaultMultipartThreshold},
		{"Reconcile.Lease", cfg.Reconcile.Lease, reconcile.DefaultLease},
		{"Reconcile.Concurrency", cfg.Reconcile.Concurrency, reconcile.DefaultConcurrency},
		{"Reconcile.Grace", cfg.Reconcile.Grace, reconcile.DefaultGrace},
		{"Reconcile.Mass.Share", cfg.Reconcile.Mass.Share, reconcile.DefaultMassShare},
		{"Reconcile.Archive.Rule.TransitionDays", cfg.Reconcile.Archive.Rule.TransitionDays, reconcile.DefaultTransitionDays},
		{"Reconcile.Archive.Rule.AbortIncompleteDays", cfg.Reconcile.Archive.Rule.AbortIncompleteDays, reconcile.DefaultAbortIncompleteDays},
		{"Reconcile.Archive.DayLength", cfg.Reconcile.Archive.DayLength, reconcile.DefaultDayLength},
		{"Reconcile.Archive.RestorePoll", cfg.Reconcile.Archive.RestorePoll, reconcile.DefaultRestorePoll},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want the package's default %v", c.name, c.got, c.want)
		}
	}
	if !maps.Equal(cfg.Prices, reconcile.DefaultPrices) {
		t.Errorf("Prices = %v, want reconcile.DefaultPrices %v", cfg.Prices, reconcile.DefaultPrices)
	}
}

// Every row's Opt names a real field under Config, and every field is set
// by at most one variable: the table is the one place that ties them.
func TestEveryVariableNamesAnOptionField(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, v := range variables() {
		if v.Opt == "" {
			continue
		}
		for _, path := range strings.Split(v.Opt, ",") {
			f := reflect.ValueOf(Config{})
			for _, part := range strings.Split(path, ".") {
				switch f.Kind() {
				case reflect.Struct:
					f = f.FieldByName(part)
				case reflect.Map:
					f = reflect.Zero(f.Type().Elem()) // Prices.STANDARD
				default:
					f = reflect.Value{}
				}
				if !f.IsValid() {
					t.Errorf("%s: opt %q names no field of Config", v.Name, path)
					break
				}
			}
			if other, ok := seen[path]; ok {
				t.Errorf("%s and %s both set %s", other, v.Name, path)
			}
			seen[path] = v.Name
		}
	}
}

func TestUnknownVariables(t *testing.T) {
	t.Parallel()
	got := unknownVariables([]string{
		"TRASHD_TRASH_BUKET=trash", "TRASHD_CONCURENCY=4", "TRASHD_TEST_MYSQL_DSN=root@tcp(127.0.0.1:3306)/",
		"TRASHD_DEV_DIR=/tmp/dev", "TRASHD_SOMETHING_ELSE_ENTIRELY=1", "TRASHD_LEASE=5m", "PATH=/bin",
	})
	want := []unknownVariable{
		{Name: "TRASHD_CONCURENCY", Closest: "TRASHD_CONCURRENCY"},
		{Name: "TRASHD_SOMETHING_ELSE_ENTIRELY"},
		{Name: "TRASHD_TRASH_BUKET", Closest: "TRASHD_TRASH_BUCKET"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unknownVariables = %+v, want %+v", got, want)
	}
	if s := want[2].String(); !strings.Contains(s, "did you mean TRASHD_TRASH_BUCKET?") {
		t.Errorf("String() = %q, want the closest name", s)
	}
}

// `trashd config` lists an unknown variable, names the closest known one and
// exits non-zero; other commands warn at start.
func TestConfigReportsUnknownVariables(t *testing.T) {
	defaults(t)
	t.Setenv("TRASHD_TRASH_BUCKET", "trash")
	t.Setenv("TRASHD_SOURCE_BUCKET", "files")
	var stdout, stderr bytes.Buffer
	if err := runConfig(&stdout, false); err != nil {
		t.Fatalf("config with a valid environment: %v: %s", err, stderr.String())
	}

	t.Setenv("TRASHD_TRASH_BUKET", "trash")
	stdout.Reset()
	stderr.Reset()
	err := runConfig(&stdout, false)
	if code := exitCode(err, &stderr); code != codeUsage {
		t.Errorf("config with TRASHD_TRASH_BUKET set exited %d, want %d", code, codeUsage)
	}
	if !strings.Contains(stderr.String(), "TRASHD_TRASH_BUKET is set but is not a trashd variable: did you mean TRASHD_TRASH_BUCKET?") {
		t.Errorf("stderr = %q, want the unknown variable and its closest name", stderr.String())
	}
	if !strings.Contains(stdout.String(), "TRASHD_TRASH_BUKET") {
		t.Errorf("stdout does not list the unknown variable:\n%s", stdout.String())
	}

	stderr.Reset()
	if _, err := loadConfig(&stderr); err != nil {
		t.Fatalf("loadConfig refused: %v: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "warning: TRASHD_TRASH_BUKET") {
		t.Errorf("loadConfig's output = %q, want a warning about TRASHD_TRASH_BUKET", stderr.String())
	}
}

// Only the TRASHD_ form of a variable counts: a prefix-based reader would also
// read LEASE or SCHEDULE, which other software may set.
func TestReadEnvIgnoresUnprefixedNames(t *testing.T) {
	defaults(t)
	t.Setenv("LEASE", "1s")
	t.Setenv("MYSQL_HOST", "elsewhere.example")
	e := readEnv()
	if len(e.vars) != 0 {
		t.Errorf("LEASE and MYSQL_HOST were read: %v", e.vars)
	}
	cfg, err := parse(e)
	if cfg.Reconcile.Lease != reconcile.DefaultLease || cfg.DB.Host != db.DefaultHost {
		t.Errorf("LEASE and MYSQL_HOST were read: lease %s, host %q (%v)", cfg.Reconcile.Lease, cfg.DB.Host, err)
	}
}

// trigger reads its variables through the same parsing, so a bad value is
// refused rather than replaced.
func TestTriggerRefusesBadControlVariables(t *testing.T) {
	defaults(t)
	t.Setenv("TRASHD_PROGRESS_INTERVAL", "often")
	var stdout, stderr bytes.Buffer
	err := runTrigger(t.Context(), newCLI(&stdout, &stderr), false)
	if code := exitCode(err, &stderr); code != codeUsage {
		t.Errorf("trigger with TRASHD_PROGRESS_INTERVAL=often exited %d, want %d", code, codeUsage)
	}
	if !strings.Contains(stderr.String(), "TRASHD_PROGRESS_INTERVAL") {
		t.Errorf("stderr = %q, want the variable named", stderr.String())
	}
}
