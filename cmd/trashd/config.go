package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// env is the raw environment, read by envconfig with the prefix TRASHD_.
// Every field is a string so that parsing happens in a second step that
// reports every bad variable at once, not just the first.
type env struct {
	MySQLHost         string `envconfig:"MYSQL_HOST" default:"127.0.0.1" desc:"MySQL host"`
	MySQLPort         string `envconfig:"MYSQL_PORT" default:"3306" desc:"MySQL port"`
	MySQLUser         string `envconfig:"MYSQL_USER" default:"trashd" desc:"MySQL user"`
	MySQLPassword     string `envconfig:"MYSQL_PASSWORD" desc:"MySQL password (prefer the _FILE form)"`
	MySQLPasswordFile string `envconfig:"MYSQL_PASSWORD_FILE" desc:"file holding the MySQL password, e.g. a systemd credential"`
	MySQLDatabase     string `envconfig:"MYSQL_DATABASE" default:"lms" desc:"database holding the LMS table and trashd's tables"`
	MySQLTLS          string `envconfig:"MYSQL_TLS" default:"preferred" desc:"TLS to MySQL: false, true, skip-verify or preferred"`
	MySQLMaxOpen      string `envconfig:"MYSQL_MAX_OPEN_CONNS" default:"20" desc:"connection pool size"`
	MySQLMaxIdle      string `envconfig:"MYSQL_MAX_IDLE_CONNS" default:"20" desc:"idle connections kept"`
	MySQLConnLife     string `envconfig:"MYSQL_CONN_MAX_LIFETIME" default:"5m" desc:"connections are recycled after this"`
	MySQLDialTimeout  string `envconfig:"MYSQL_DIAL_TIMEOUT" default:"10s" desc:"connect timeout"`
	MySQLReadTimeout  string `envconfig:"MYSQL_READ_TIMEOUT" default:"30s" desc:"I/O read timeout"`
	MySQLWriteTimeout string `envconfig:"MYSQL_WRITE_TIMEOUT" default:"30s" desc:"I/O write timeout"`

	LMSTable        string `envconfig:"LMS_TABLE" default:"files" desc:"the LMS table of files"`
	LMSIDColumn     string `envconfig:"LMS_ID_COLUMN" default:"id" desc:"its integer primary key"`
	LMSKeyColumn    string `envconfig:"LMS_KEY_COLUMN" default:"s3_key" desc:"its object key column"`
	LMSBucketColumn string `envconfig:"LMS_BUCKET_COLUMN" desc:"its source bucket column; empty: every row is in TRASHD_SOURCE_BUCKET"`
	LMSTrashColumn  string `envconfig:"LMS_TRASH_COLUMN" default:"trashed" desc:"its trash flag column"`
	LMSTrashKind    string `envconfig:"LMS_TRASH_KIND" default:"flag" desc:"flag (non-zero means trashed), timestamp (non-NULL means trashed) or value (one of TRASHD_LMS_TRASH_VALUES means trashed)"`
	LMSTrashValues  string `envconfig:"LMS_TRASH_VALUES" desc:"TRASHD_LMS_TRASH_KIND=value: the column's values that mean trashed, comma-separated (Canvas: deleted)"`
	LMSUniqueKeys   string `envconfig:"LMS_UNIQUE_KEYS" default:"false" desc:"true: an object is moved even if another LMS row names it (declare that no two rows share an object); false needs an index on the key column"`

	S3Region           string `envconfig:"S3_REGION" default:"us-east-1" desc:"AWS region"`
	S3Endpoint         string `envconfig:"S3_ENDPOINT" desc:"S3 endpoint URL; empty means AWS"`
	S3PathStyle        string `envconfig:"S3_PATH_STYLE" default:"false" desc:"path-style addressing (S3-compatible servers)"`
	S3Checksums        string `envconfig:"S3_CHECKSUMS" default:"when_supported" desc:"request checksum calculation and response validation: when_supported (AWS) or when_required (S3-compatible servers)"`
	SourceBucket       string `envconfig:"SOURCE_BUCKET" desc:"the source bucket of rows without a bucket column"`
	TrashBucket        string `envconfig:"TRASH_BUCKET" desc:"the trash bucket (required)"`
	TrashKeyTemplate   string `envconfig:"TRASH_KEY_TEMPLATE" default:"{id}/{key}" desc:"trash key: {id} (LMS row id, required), {bucket}, {key}"`
	MultipartThreshold string `envconfig:"MULTIPART_THRESHOLD" default:"5GiB" desc:"objects above this are copied in parts (at most 5GiB)"`
	PartSize           string `envconfig:"PART_SIZE" default:"256MiB" desc:"part size for part copies of single-part sources (5MiB to 5GiB)"`
	PartConcurrency    string `envconfig:"PART_CONCURRENCY" default:"4" desc:"parts copied at once for one object"`
	ConditionalDelete  string `envconfig:"CONDITIONAL_DELETE" default:"true" desc:"delete the source only if its ETag is unchanged (If-Match)"`
	IfNoneMatch        string `envconfig:"S3_IF_NONE_MATCH" default:"true" desc:"the server honours If-None-Match on copies (AWS since 2025-10); false: trashd checks a copy's destination with HEAD first, a weaker guard"`
	BatchSize          string `envconfig:"BATCH_SIZE" default:"500" desc:"LMS rows read per discovery query"`
	Concurrency        string `envconfig:"CONCURRENCY" default:"16" desc:"objects moved at once"`
	Lease              string `envconfig:"LEASE" default:"5m" desc:"how long a claim on an object lasts without renewal"`
	MaxAttempts        string `envconfig:"MAX_ATTEMPTS" default:"5" desc:"attempts before an object is recorded failed"`
	BackoffBase        string `envconfig:"BACKOFF_BASE" default:"30s" desc:"first retry delay after a transient error"`
	BackoffMax         string `envconfig:"BACKOFF_MAX" default:"1h" desc:"longest retry delay"`
	FailAfter          string `envconfig:"FAIL_AFTER" default:"24h" desc:"an object is recorded failed only once TRASHD_MAX_ATTEMPTS attempts in a row failed and it has been failing this long"`
	SharedRecheck      string `envconfig:"SHARED_RECHECK" default:"1h" desc:"how long an object that an untrashed LMS row still uses waits before a pass looks again"`
	AllowMassChange    string `envconfig:"ALLOW_MASS_CHANGE" default:"false" desc:"true lets every pass through the mass-change brake (set it for one deliberate run, then unset it)"`
	MassChangeCount    string `envconfig:"MASS_CHANGE_COUNT" default:"1000" desc:"the brake: a pass stops if its discoveries, restores or orphanings exceed this many and TRASHD_MASS_CHANGE_SHARE"`
	MassChangeShare    string `envconfig:"MASS_CHANGE_SHARE" default:"0.1" desc:"the brake's share: of the LMS table's rows (discoveries, rows trashed again) or of the files in the trash (restores, orphanings)"`
	LogLevel           string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat          string `envconfig:"LOG_FORMAT" default:"auto" desc:"auto (text on a terminal, else JSON), json or text; logs go to stderr"`

	Schedule         string `envconfig:"SCHEDULE" default:"@every 15m" desc:"serve: when passes run (5-field cron, @every 15m, @hourly; CRON_TZ= prefix)"`
	RunAtStart       string `envconfig:"RUN_AT_START" default:"true" desc:"serve: run a pass as soon as the service starts"`
	ControlSocket    string `envconfig:"CONTROL_SOCKET" desc:"serve and trigger: the control socket; empty: $RUNTIME_DIRECTORY/control.sock, else /run/trashd/control.sock"`
	MetricsAddr      string `envconfig:"METRICS_ADDR" default:"127.0.0.1:9464" desc:"serve: listen address for /metrics, /healthz and /readyz; empty disables"`
	ShutdownGrace    string `envconfig:"SHUTDOWN_GRACE" default:"30s" desc:"on SIGTERM, how long objects in flight may take to finish their current step"`
	ProgressInterval string `envconfig:"PROGRESS_INTERVAL" default:"10s" desc:"how often progress is logged when the output is not a terminal"`

	ArchiveMode        string `envconfig:"ARCHIVE_MODE" default:"lifecycle" desc:"lifecycle (copies land in STANDARD, the bucket's rule transitions them) or direct (copies are written in TRASHD_STORAGE_CLASS)"`
	LifecycleMode      string `envconfig:"LIFECYCLE_MODE" default:"verify" desc:"each pass: verify (report drift), enforce (repair drift) or off"`
	LifecycleRuleID    string `envconfig:"LIFECYCLE_RULE_ID" default:"trashd-archive" desc:"the id of trashd's rule in the trash bucket's lifecycle configuration"`
	LifecyclePrefix    string `envconfig:"LIFECYCLE_PREFIX" desc:"the rule's prefix filter; empty: the whole trash bucket"`
	TransitionDays     string `envconfig:"TRANSITION_DAYS" default:"30" desc:"days after the move before S3 transitions a copy (0: at the next lifecycle run)"`
	StorageClass       string `envconfig:"STORAGE_CLASS" default:"GLACIER" desc:"the archive class: GLACIER, DEEP_ARCHIVE or GLACIER_IR"`
	ExpirationDays     string `envconfig:"EXPIRATION_DAYS" default:"0" desc:"days after the move before S3 deletes a copy for good; 0: never"`
	AbortUploadsDays   string `envconfig:"ABORT_UPLOADS_DAYS" default:"7" desc:"the rule also aborts multipart uploads left unfinished this many days (a crash mid-copy); 0: not part of the rule"`
	TransitionMinSize  string `envconfig:"TRANSITION_MIN_SIZE" default:"0" desc:"transition only copies larger than this (the rule's size filter); 0: S3's default, 128 KB"`
	TransitionGrace    string `envconfig:"TRANSITION_GRACE" default:"48h" desc:"a transition is overdue this long after it was due, the rule's days rounded up to the next midnight UTC (S3 queues transitions then and can run them hours or days later)"`
	TransitionChecks   string `envconfig:"TRANSITION_CHECKS" default:"1000" desc:"copies checked with HEAD per pass for their transition"`
	RestoreDays        string `envconfig:"RESTORE_DAYS" default:"7" desc:"days S3 keeps the temporary copy of a restore from the archive class"`
	RestoreTier        string `envconfig:"RESTORE_TIER" default:"Standard" desc:"restore tier: Expedited (minutes), Standard (hours) or Bulk (up to 12/48 h)"`
	RestorePoll        string `envconfig:"RESTORE_POLL" default:"15m" desc:"how often a restore in progress is looked at"`
	ExpeditedFallback  string `envconfig:"RESTORE_EXPEDITED_FALLBACK" default:"Standard" desc:"the tier an Expedited restore takes where S3 has none (DEEP_ARCHIVE, or 503 GlacierExpeditedRetrievalNotAvailable): Standard, Bulk, or off (fail or retry instead)"`
	PriceStandard      string `envconfig:"PRICE_STANDARD" default:"0.023" desc:"status --cost: USD per GB-month in STANDARD (us-east-1, 2025-01)"`
	PriceGlacierIR     string `envconfig:"PRICE_GLACIER_IR" default:"0.004" desc:"status --cost: USD per GB-month in GLACIER_IR"`
	PriceGlacier       string `envconfig:"PRICE_GLACIER" default:"0.0036" desc:"status --cost: USD per GB-month in GLACIER"`
	PriceDeepArchive   string `envconfig:"PRICE_DEEP_ARCHIVE" default:"0.00099" desc:"status --cost: USD per GB-month in DEEP_ARCHIVE"`
	LifecycleDayLength string `envconfig:"LIFECYCLE_DAY_LENGTH" default:"24h" desc:"the length of a lifecycle day; change it only against an S3 emulation with an accelerated clock (the demo)"`
}

// Config is the parsed configuration.
type Config struct {
	DB        db.Options
	LMS       db.LMSTable
	S3        s3ops.Options
	Reconcile reconcile.Config
	LogLevel  string
	LogFormat string

	Prices reconcile.Prices

	Schedule         string
	RunAtStart       bool
	ControlSocket    string
	MetricsAddr      string
	ProgressInterval time.Duration
}

func readEnv() (env, error) {
	var e env
	if err := envconfig.Process("TRASHD", &e); err != nil {
		return e, err
	}
	return e, nil
}

// parse turns e into a Config and reports every problem at once, each naming
// its variable and what it accepts.
func parse(e env) (Config, error) {
	p := &problems{}
	var c Config

	password := e.MySQLPassword
	if e.MySQLPasswordFile != "" {
		if e.MySQLPassword != "" {
			p.add("TRASHD_MYSQL_PASSWORD_FILE", "set only one of TRASHD_MYSQL_PASSWORD and TRASHD_MYSQL_PASSWORD_FILE")
		}
		b, err := os.ReadFile(e.MySQLPasswordFile)
		if err != nil {
			p.add("TRASHD_MYSQL_PASSWORD_FILE", fmt.Sprintf("cannot read the password file: %v", err))
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	c.DB = db.Options{
		Host:            e.MySQLHost,
		Port:            p.int("TRASHD_MYSQL_PORT", e.MySQLPort, 1, 65535),
		User:            e.MySQLUser,
		Password:        password,
		Database:        e.MySQLDatabase,
		TLS:             p.oneOf("TRASHD_MYSQL_TLS", e.MySQLTLS, "false", "true", "skip-verify", "preferred"),
		MaxOpenConns:    p.int("TRASHD_MYSQL_MAX_OPEN_CONNS", e.MySQLMaxOpen, 1, 10000),
		MaxIdleConns:    p.int("TRASHD_MYSQL_MAX_IDLE_CONNS", e.MySQLMaxIdle, 0, 10000),
		ConnMaxLifetime: p.duration("TRASHD_MYSQL_CONN_MAX_LIFETIME", e.MySQLConnLife),
		DialTimeout:     p.duration("TRASHD_MYSQL_DIAL_TIMEOUT", e.MySQLDialTimeout),
		ReadTimeout:     p.duration("TRASHD_MYSQL_READ_TIMEOUT", e.MySQLReadTimeout),
		WriteTimeout:    p.duration("TRASHD_MYSQL_WRITE_TIMEOUT", e.MySQLWriteTimeout),
	}
	if c.DB.Host == "" {
		p.add("TRASHD_MYSQL_HOST", "must not be empty")
	}
	if c.DB.Database == "" {
		p.add("TRASHD_MYSQL_DATABASE", "must not be empty")
	}

	c.LMS = db.LMSTable{
		Table:         e.LMSTable,
		IDColumn:      e.LMSIDColumn,
		KeyColumn:     e.LMSKeyColumn,
		BucketColumn:  e.LMSBucketColumn,
		TrashColumn:   e.LMSTrashColumn,
		TrashKind:     p.oneOf("TRASHD_LMS_TRASH_KIND", e.LMSTrashKind, "flag", "timestamp", "value"),
		TrashValues:   splitValues(e.LMSTrashValues),
		DefaultBucket: e.SourceBucket,
		UniqueKeys:    p.bool("TRASHD_LMS_UNIQUE_KEYS", e.LMSUniqueKeys),
	}
	if err := c.LMS.Validate(); err != nil {
		for _, fe := range db.FieldErrors(err) {
			switch fe.Field {
			case "TrashKind": // reported by oneOf above
			case "DefaultBucket":
				p.add("TRASHD_SOURCE_BUCKET", "must be set when TRASHD_LMS_BUCKET_COLUMN is empty")
			default:
				p.add(lmsVars[fe.Field], fe.Problem)
			}
		}
	}

	checksums := p.oneOf("TRASHD_S3_CHECKSUMS", e.S3Checksums, "when_supported", "when_required")
	c.S3 = s3ops.Options{
		Region:               e.S3Region,
		Endpoint:             e.S3Endpoint,
		PathStyle:            p.bool("TRASHD_S3_PATH_STYLE", e.S3PathStyle),
		ChecksumWhenRequired: checksums == "when_required",
		MultipartThreshold:   p.bytes("TRASHD_MULTIPART_THRESHOLD", e.MultipartThreshold, 5<<20, 5<<30),
		PartSize:             p.bytes("TRASHD_PART_SIZE", e.PartSize, 5<<20, 5<<30),
		PartConcurrency:      p.int("TRASHD_PART_CONCURRENCY", e.PartConcurrency, 1, 64),
		ConditionalDelete:    p.bool("TRASHD_CONDITIONAL_DELETE", e.ConditionalDelete),
		NoOverwriteByHead:    !p.bool("TRASHD_S3_IF_NONE_MATCH", e.IfNoneMatch),
	}
	if e.S3Region == "" {
		p.add("TRASHD_S3_REGION", "must not be empty")
	}
	if e.S3Endpoint != "" && !strings.HasPrefix(e.S3Endpoint, "http://") && !strings.HasPrefix(e.S3Endpoint, "https://") {
		p.add("TRASHD_S3_ENDPOINT", fmt.Sprintf("%q must be a URL starting with http:// or https://", e.S3Endpoint))
	}
	if e.TrashBucket == "" {
		p.add("TRASHD_TRASH_BUCKET", "must be set to the trash bucket")
	}
	if e.TrashBucket != "" && e.TrashBucket == e.SourceBucket {
		p.add("TRASHD_TRASH_BUCKET", "must differ from TRASHD_SOURCE_BUCKET")
	}
	tmpl, err := reconcile.ParseKeyTemplate(e.TrashKeyTemplate)
	if err != nil {
		p.add("TRASHD_TRASH_KEY_TEMPLATE", err.Error())
	}

	c.Reconcile = reconcile.Config{
		TrashBucket:   e.TrashBucket,
		TrashKeys:     tmpl,
		SourceBucket:  e.SourceBucket,
		BatchSize:     p.int("TRASHD_BATCH_SIZE", e.BatchSize, 1, 100000),
		Concurrency:   p.int("TRASHD_CONCURRENCY", e.Concurrency, 1, 1024),
		Lease:         p.duration("TRASHD_LEASE", e.Lease),
		MaxAttempts:   p.int("TRASHD_MAX_ATTEMPTS", e.MaxAttempts, 1, 1000),
		BackoffBase:   p.duration("TRASHD_BACKOFF_BASE", e.BackoffBase),
		BackoffMax:    p.duration("TRASHD_BACKOFF_MAX", e.BackoffMax),
		Grace:         p.duration("TRASHD_SHUTDOWN_GRACE", e.ShutdownGrace),
		FailAfter:     p.duration("TRASHD_FAIL_AFTER", e.FailAfter),
		SharedRecheck: p.duration("TRASHD_SHARED_RECHECK", e.SharedRecheck),
		Mass: reconcile.MassLimits{
			Allow:    p.bool("TRASHD_ALLOW_MASS_CHANGE", e.AllowMassChange),
			Count:    p.int("TRASHD_MASS_CHANGE_COUNT", e.MassChangeCount, 1, 1<<30),
			Share:    p.share("TRASHD_MASS_CHANGE_SHARE", e.MassChangeShare),
			Override: "TRASHD_ALLOW_MASS_CHANGE=true for the service (unset it after), or `trashd reconcile --allow-mass-change` for one pass",
		},
	}
	if c.Reconcile.Lease != 0 && c.Reconcile.Lease < 10*time.Second {
		p.add("TRASHD_LEASE", fmt.Sprintf("%s is too short; use at least 10s", c.Reconcile.Lease))
	}
	// A renewal must fit well inside the lease: a delete needs a fence sent
	// less than a quarter of the lease ago, and a database that takes its
	// full timeouts to answer would otherwise let the lease lapse.
	if mysql := c.DB.DialTimeout + c.DB.ReadTimeout + c.DB.WriteTimeout; c.Reconcile.Lease != 0 && mysql > 0 && c.Reconcile.Lease < 3*mysql {
		p.add("TRASHD_LEASE", fmt.Sprintf("%s is shorter than 3 × (TRASHD_MYSQL_DIAL_TIMEOUT + TRASHD_MYSQL_READ_TIMEOUT + TRASHD_MYSQL_WRITE_TIMEOUT) = %s: "+
			"a lease must outlast several database round trips at their timeouts; raise the lease or lower the timeouts", c.Reconcile.Lease, 3*mysql))
	}
	if c.Reconcile.BackoffMax < c.Reconcile.BackoffBase {
		p.add("TRASHD_BACKOFF_MAX", "must not be below TRASHD_BACKOFF_BASE")
	}
	c.LogLevel = p.oneOf("TRASHD_LOG_LEVEL", strings.ToLower(e.LogLevel), "debug", "info", "warn", "error")
	c.LogFormat = p.oneOf("TRASHD_LOG_FORMAT", e.LogFormat, "auto", "json", "text")

	c.Schedule = e.Schedule
	if _, err := reconcile.ParseSchedule(e.Schedule); err != nil {
		p.add("TRASHD_SCHEDULE", err.Error())
	}
	c.RunAtStart = p.bool("TRASHD_RUN_AT_START", e.RunAtStart)
	c.ControlSocket = controlSocket(e.ControlSocket)
	c.MetricsAddr = e.MetricsAddr
	if e.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(e.MetricsAddr); err != nil {
			p.add("TRASHD_METRICS_ADDR", fmt.Sprintf("%q is not host:port (e.g. 127.0.0.1:9464), or empty to disable", e.MetricsAddr))
		}
	}
	c.ProgressInterval = p.duration("TRASHD_PROGRESS_INTERVAL", e.ProgressInterval)

	c.Reconcile.Archive = reconcile.ArchiveConfig{
		Rule: reconcile.LifecycleRule{
			ID:                  e.LifecycleRuleID,
			Prefix:              e.LifecyclePrefix,
			TransitionDays:      p.int("TRASHD_TRANSITION_DAYS", e.TransitionDays, 0, 36500),
			StorageClass:        p.oneOf("TRASHD_STORAGE_CLASS", e.StorageClass, reconcile.ArchiveClasses...),
			ExpirationDays:      p.int("TRASHD_EXPIRATION_DAYS", e.ExpirationDays, 0, 36500),
			AbortIncompleteDays: p.int("TRASHD_ABORT_UPLOADS_DAYS", e.AbortUploadsDays, 0, reconcile.MaxAbortIncompleteDays),
			MinSize:             p.bytes("TRASHD_TRANSITION_MIN_SIZE", e.TransitionMinSize, 0, 5<<40),
		},
		Mode:              p.oneOf("TRASHD_ARCHIVE_MODE", e.ArchiveMode, reconcile.ArchiveLifecycle, reconcile.ArchiveDirect),
		LifecycleMode:     p.oneOf("TRASHD_LIFECYCLE_MODE", e.LifecycleMode, reconcile.LifecycleVerify, reconcile.LifecycleEnforce, reconcile.LifecycleOff),
		Grace:             p.duration("TRASHD_TRANSITION_GRACE", e.TransitionGrace),
		ChecksPerPass:     p.int("TRASHD_TRANSITION_CHECKS", e.TransitionChecks, 1, 1000000),
		RestoreDays:       p.int("TRASHD_RESTORE_DAYS", e.RestoreDays, 1, 30000),
		RestoreTier:       p.oneOf("TRASHD_RESTORE_TIER", e.RestoreTier, "Expedited", "Standard", "Bulk"),
		RestorePoll:       p.duration("TRASHD_RESTORE_POLL", e.RestorePoll),
		ExpeditedFallback: p.oneOf("TRASHD_RESTORE_EXPEDITED_FALLBACK", e.ExpeditedFallback, "Standard", "Bulk", reconcile.FallbackOff),
		DayLength:         p.duration("TRASHD_LIFECYCLE_DAY_LENGTH", e.LifecycleDayLength),
	}
	if e.LifecycleRuleID == "" || len(e.LifecycleRuleID) > 255 {
		p.add("TRASHD_LIFECYCLE_RULE_ID", "must be 1 to 255 characters")
	}
	if n := c.Reconcile.Archive.Rule.ExpirationDays; n != 0 && n <= c.Reconcile.Archive.Rule.TransitionDays {
		p.add("TRASHD_EXPIRATION_DAYS", fmt.Sprintf("%d must be 0 (never) or more than TRASHD_TRANSITION_DAYS", n))
	}
	if r := c.Reconcile.Archive.Rule; r.MinSize > 0 && r.AbortIncompleteDays > 0 {
		p.add("TRASHD_ABORT_UPLOADS_DAYS", "must be 0 when TRASHD_TRANSITION_MIN_SIZE is set: AWS refuses AbortIncompleteMultipartUpload in a rule with an object-size filter")
	}
	if a := c.Reconcile.Archive; a.RestoreTier == "Expedited" && a.Rule.StorageClass == "DEEP_ARCHIVE" && a.ExpeditedFallback == reconcile.FallbackOff {
		p.add("TRASHD_RESTORE_TIER", "DEEP_ARCHIVE has no Expedited restores; use Standard or Bulk, or set TRASHD_RESTORE_EXPEDITED_FALLBACK")
	}
	c.Prices = reconcile.Prices{
		"STANDARD":     p.price("TRASHD_PRICE_STANDARD", e.PriceStandard),
		"GLACIER_IR":   p.price("TRASHD_PRICE_GLACIER_IR", e.PriceGlacierIR),
		"GLACIER":      p.price("TRASHD_PRICE_GLACIER", e.PriceGlacier),
		"DEEP_ARCHIVE": p.price("TRASHD_PRICE_DEEP_ARCHIVE", e.PriceDeepArchive),
	}
	return c, p.err()
}

// controlSocket is the configured socket path, else the one in systemd's
// RuntimeDirectory, else the conventional one.
func controlSocket(configured string) string {
	if configured != "" {
		return configured
	}
	if dir := os.Getenv("RUNTIME_DIRECTORY"); dir != "" {
		// systemd may list several directories, separated by colons.
		dir, _, _ = strings.Cut(dir, ":")
		return filepath.Join(dir, "control.sock")
	}
	return "/run/trashd/control.sock"
}

// lmsVars names the variable behind each db.LMSTable field.
var lmsVars = map[string]string{
	"Table":        "TRASHD_LMS_TABLE",
	"IDColumn":     "TRASHD_LMS_ID_COLUMN",
	"KeyColumn":    "TRASHD_LMS_KEY_COLUMN",
	"BucketColumn": "TRASHD_LMS_BUCKET_COLUMN",
	"TrashColumn":  "TRASHD_LMS_TRASH_COLUMN",
	"TrashValues":  "TRASHD_LMS_TRASH_VALUES",
}

// problems collects configuration errors.
type problems struct{ list []string }

func (p *problems) add(name, msg string) { p.list = append(p.list, name+": "+msg) }

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return errors.New("invalid configuration:\n  " + strings.Join(p.list, "\n  "))
}

func (p *problems) int(name, v string, lo, hi int) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		p.add(name, fmt.Sprintf("%q is not a whole number from %d to %d", v, lo, hi))
	}
	return n
}

func (p *problems) price(name, v string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 {
		p.add(name, fmt.Sprintf("%q is not a price in USD per GB-month, such as 0.0036", v))
	}
	return f
}

// share parses a fraction above 0 and at most 1.
func (p *problems) share(name, v string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(f > 0 && f <= 1) {
		p.add(name, fmt.Sprintf("%q is not a share above 0 and at most 1, such as 0.1", v))
	}
	return f
}

func (p *problems) bool(name, v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		p.add(name, fmt.Sprintf("%q is not true or false", v))
	}
	return b
}

func (p *problems) duration(name, v string) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		p.add(name, fmt.Sprintf("%q is not a positive duration such as 30s, 5m or 1h", v))
	}
	return d
}

func (p *problems) oneOf(name, v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.add(name, fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", ")))
	return v
}

// bytes parses sizes such as 5GiB, 256MiB, 8MB or a plain number of bytes.
func (p *problems) bytes(name, v string, lo, hi int64) int64 {
	n, err := parseBytes(v)
	if err != nil || n < lo || n > hi {
		p.add(name, fmt.Sprintf("%q is not a size from %s to %s (e.g. 64MiB, 5GiB)", v, formatBytes(lo), formatBytes(hi)))
	}
	return n
}

var units = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			return n * u.mult, err
		}
	}
	return strconv.ParseInt(v, 10, 64)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
