package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// env is the raw environment, read by envconfig, and the one table of
// trashd's variables: each field's envconfig tag is its variable, opt the
// option field it sets (as the packages' Validate errors name it, under
// Config), desc what it is for. Defaults are not tags but defaultEnv, built
// from the packages' constants. Every field is a string so that parsing
// happens in a second step that reports every bad variable at once, not just
// the first.
type env struct {
	MySQLHost         string `envconfig:"TRASHD_MYSQL_HOST" opt:"DB.Host" desc:"MySQL host"`
	MySQLPort         string `envconfig:"TRASHD_MYSQL_PORT" opt:"DB.Port" desc:"MySQL port"`
	MySQLUser         string `envconfig:"TRASHD_MYSQL_USER" opt:"DB.User" desc:"MySQL user"`
	MySQLPassword     string `envconfig:"TRASHD_MYSQL_PASSWORD" opt:"DB.Password" desc:"MySQL password (prefer the _FILE form)"`
	MySQLPasswordFile string `envconfig:"TRASHD_MYSQL_PASSWORD_FILE" desc:"file holding the MySQL password, e.g. a systemd credential"`
	MySQLDatabase     string `envconfig:"TRASHD_MYSQL_DATABASE" opt:"DB.Database" desc:"database holding the LMS table and trashd's tables"`
	MySQLTLS          string `envconfig:"TRASHD_MYSQL_TLS" opt:"DB.TLS" desc:"TLS to MySQL: auto (verified TLS, except none to a loopback host), true (verified), false, skip-verify or preferred (neither checks the certificate)"`
	MySQLMaxOpen      string `envconfig:"TRASHD_MYSQL_MAX_OPEN_CONNS" opt:"DB.MaxOpenConns" desc:"connection pool size"`
	MySQLMaxIdle      string `envconfig:"TRASHD_MYSQL_MAX_IDLE_CONNS" opt:"DB.MaxIdleConns" desc:"idle connections kept"`
	MySQLConnLife     string `envconfig:"TRASHD_MYSQL_CONN_MAX_LIFETIME" opt:"DB.ConnMaxLifetime" desc:"connections are recycled after this"`
	MySQLDialTimeout  string `envconfig:"TRASHD_MYSQL_DIAL_TIMEOUT" opt:"DB.DialTimeout" desc:"connect timeout"`
	MySQLReadTimeout  string `envconfig:"TRASHD_MYSQL_READ_TIMEOUT" opt:"DB.ReadTimeout" desc:"I/O read timeout"`
	MySQLWriteTimeout string `envconfig:"TRASHD_MYSQL_WRITE_TIMEOUT" opt:"DB.WriteTimeout" desc:"I/O write timeout"`

	LMSTable        string `envconfig:"TRASHD_LMS_TABLE" opt:"LMS.Table" desc:"the LMS table of files"`
	LMSIDColumn     string `envconfig:"TRASHD_LMS_ID_COLUMN" opt:"LMS.IDColumn" desc:"its integer primary key"`
	LMSKeyColumn    string `envconfig:"TRASHD_LMS_KEY_COLUMN" opt:"LMS.KeyColumn" desc:"its object key column"`
	LMSBucketColumn string `envconfig:"TRASHD_LMS_BUCKET_COLUMN" opt:"LMS.BucketColumn" desc:"its source bucket column; empty: every row is in TRASHD_SOURCE_BUCKET"`
	LMSTrashColumn  string `envconfig:"TRASHD_LMS_TRASH_COLUMN" opt:"LMS.TrashColumn" desc:"its trash flag column"`
	LMSTrashKind    string `envconfig:"TRASHD_LMS_TRASH_KIND" opt:"LMS.TrashKind" desc:"flag (non-zero means trashed), timestamp (non-NULL means trashed) or value (one of TRASHD_LMS_TRASH_VALUES means trashed)"`
	LMSTrashValues  string `envconfig:"TRASHD_LMS_TRASH_VALUES" opt:"LMS.TrashValues" desc:"TRASHD_LMS_TRASH_KIND=value: the column's values that mean trashed, comma-separated (Canvas: deleted)"`
	LMSUniqueKeys   string `envconfig:"TRASHD_LMS_UNIQUE_KEYS" opt:"LMS.UniqueKeys" desc:"true: an object is moved even if another LMS row names it (declare that no two rows share an object); false needs an index on the key column"`

	S3Region           string `envconfig:"TRASHD_S3_REGION" opt:"S3.Region" desc:"AWS region"`
	S3Endpoint         string `envconfig:"TRASHD_S3_ENDPOINT" opt:"S3.Endpoint" desc:"S3 endpoint URL; empty means AWS"`
	S3PathStyle        string `envconfig:"TRASHD_S3_PATH_STYLE" opt:"S3.PathStyle" desc:"path-style addressing (S3-compatible servers)"`
	S3Checksums        string `envconfig:"TRASHD_S3_CHECKSUMS" opt:"S3.ChecksumWhenRequired" desc:"request checksum calculation and response validation: when_supported (AWS) or when_required (S3-compatible servers)"`
	SourceBucket       string `envconfig:"TRASHD_SOURCE_BUCKET" opt:"Reconcile.SourceBucket,LMS.DefaultBucket" desc:"the source bucket of rows without a bucket column"`
	TrashBucket        string `envconfig:"TRASHD_TRASH_BUCKET" opt:"Reconcile.TrashBucket" desc:"the trash bucket (required)"`
	TrashKeyTemplate   string `envconfig:"TRASHD_TRASH_KEY_TEMPLATE" opt:"Reconcile.TrashKeys" desc:"trash key: {id} (LMS row id, required), {bucket}, {key}"`
	MultipartThreshold string `envconfig:"TRASHD_MULTIPART_THRESHOLD" opt:"S3.MultipartThreshold" desc:"objects above this are copied in parts (at most 5GiB)"`
	PartSize           string `envconfig:"TRASHD_PART_SIZE" opt:"S3.PartSize" desc:"part size for part copies of single-part sources (5MiB to 5GiB)"`
	PartConcurrency    string `envconfig:"TRASHD_PART_CONCURRENCY" opt:"S3.PartConcurrency" desc:"parts copied at once for one object"`
	S3Forbid           string `envconfig:"TRASHD_S3_FORBID" opt:"Reconcile.Forbid" desc:"conditions trashd never relies on, whatever its probe of a bucket finds: a comma-separated list of copy_if_none_match, complete_if_none_match, copy_source_if_match, delete_if_match, batch_delete_etag (empty: each as the probe proves it)"`
	DeleteAfterHead    string `envconfig:"TRASHD_S3_DELETE_AFTER_HEAD" opt:"Reconcile.DeleteAfterHead" desc:"true: on a source bucket that proves no If-Match on DeleteObject and keeps no versions, delete a source right after a HEAD that finds exactly the copied object (a file written in that round trip would be lost); false: trashd moves nothing out of such a bucket"`
	BatchSize          string `envconfig:"TRASHD_BATCH_SIZE" opt:"Reconcile.BatchSize" desc:"LMS rows read per discovery query"`
	Concurrency        string `envconfig:"TRASHD_CONCURRENCY" opt:"Reconcile.Concurrency" desc:"objects moved at once"`
	MoveBatch          string `envconfig:"TRASHD_MOVE_BATCH" opt:"Reconcile.MoveBatch" desc:"records moved together: one statement and one DeleteObjects for many objects (1: batches of one, on the same protocol)"`
	Lease              string `envconfig:"TRASHD_LEASE" opt:"Reconcile.Lease" desc:"how long a claim on an object lasts without renewal"`
	MaxAttempts        string `envconfig:"TRASHD_MAX_ATTEMPTS" opt:"Reconcile.MaxAttempts" desc:"attempts before an object is recorded failed"`
	BackoffBase        string `envconfig:"TRASHD_BACKOFF_BASE" opt:"Reconcile.BackoffBase" desc:"first retry delay after a transient error"`
	BackoffMax         string `envconfig:"TRASHD_BACKOFF_MAX" opt:"Reconcile.BackoffMax" desc:"longest retry delay"`
	FailAfter          string `envconfig:"TRASHD_FAIL_AFTER" opt:"Reconcile.FailAfter" desc:"an object is recorded failed only once TRASHD_MAX_ATTEMPTS attempts in a row failed and it has been failing this long"`
	SharedRecheck      string `envconfig:"TRASHD_SHARED_RECHECK" opt:"Reconcile.SharedRecheck" desc:"how long an object that an untrashed LMS row still uses waits before a pass looks again"`
	AllowMassChange    string `envconfig:"TRASHD_ALLOW_MASS_CHANGE" opt:"Reconcile.Mass.Allow" desc:"true lets every pass through the mass-change brake (set it for one deliberate run, then unset it)"`
	MassChangeCount    string `envconfig:"TRASHD_MASS_CHANGE_COUNT" opt:"Reconcile.Mass.Count" desc:"the brake: a pass stops if its discoveries, restores or orphanings exceed this many and TRASHD_MASS_CHANGE_SHARE"`
	MassChangeShare    string `envconfig:"TRASHD_MASS_CHANGE_SHARE" opt:"Reconcile.Mass.Share" desc:"the brake's share: of the LMS table's rows (discoveries, rows trashed again) or of the files in the trash (restores, orphanings)"`
	LogLevel           string `envconfig:"TRASHD_LOG_LEVEL" opt:"LogLevel" desc:"debug, info, warn or error"`
	LogFormat          string `envconfig:"TRASHD_LOG_FORMAT" opt:"LogFormat" desc:"auto (text on a terminal, else JSON), json or text; logs go to stderr"`

	Schedule         string `envconfig:"TRASHD_SCHEDULE" opt:"Schedule" desc:"serve: when passes run (5-field cron, @every 15m, @hourly; CRON_TZ= prefix)"`
	RunAtStart       string `envconfig:"TRASHD_RUN_AT_START" opt:"RunAtStart" desc:"serve: run a pass as soon as the service starts"`
	ControlSocket    string `envconfig:"TRASHD_CONTROL_SOCKET" opt:"ControlSocket" desc:"serve and trigger: the control socket; empty: $RUNTIME_DIRECTORY/control.sock, else /run/trashd/control.sock"`
	MetricsAddr      string `envconfig:"TRASHD_METRICS_ADDR" opt:"MetricsAddr" desc:"serve: listen address for /metrics, /healthz and /readyz; empty disables"`
	ShutdownGrace    string `envconfig:"TRASHD_SHUTDOWN_GRACE" opt:"Reconcile.Grace" desc:"on SIGTERM, how long objects in flight may take to finish their current step"`
	ProgressInterval string `envconfig:"TRASHD_PROGRESS_INTERVAL" opt:"ProgressInterval" desc:"how often progress is logged when the output is not a terminal"`

	ArchiveMode        string `envconfig:"TRASHD_ARCHIVE_MODE" opt:"Reconcile.Archive.Mode" desc:"lifecycle (copies land in STANDARD, the bucket's rule transitions them) or direct (copies are written in TRASHD_STORAGE_CLASS)"`
	LifecycleMode      string `envconfig:"TRASHD_LIFECYCLE_MODE" opt:"Reconcile.Archive.LifecycleMode" desc:"each pass: verify (report drift), enforce (repair drift) or off"`
	LifecycleRuleID    string `envconfig:"TRASHD_LIFECYCLE_RULE_ID" opt:"Reconcile.Archive.Rule.ID" desc:"the id of trashd's rule in the trash bucket's lifecycle configuration"`
	LifecyclePrefix    string `envconfig:"TRASHD_LIFECYCLE_PREFIX" opt:"Reconcile.Archive.Rule.Prefix" desc:"the rule's prefix filter; empty: the whole trash bucket"`
	TransitionDays     string `envconfig:"TRASHD_TRANSITION_DAYS" opt:"Reconcile.Archive.Rule.TransitionDays" desc:"days after the move before S3 transitions a copy (0: at the next lifecycle run)"`
	StorageClass       string `envconfig:"TRASHD_STORAGE_CLASS" opt:"Reconcile.Archive.Rule.StorageClass" desc:"the archive class: GLACIER, DEEP_ARCHIVE or GLACIER_IR"`
	ExpirationDays     string `envconfig:"TRASHD_EXPIRATION_DAYS" opt:"Reconcile.Archive.Rule.ExpirationDays" desc:"days after the move before S3 deletes a copy for good; 0: never"`
	AbortUploadsDays   string `envconfig:"TRASHD_ABORT_UPLOADS_DAYS" opt:"Reconcile.Archive.Rule.AbortIncompleteDays" desc:"the rule also aborts multipart uploads left unfinished this many days (a crash mid-copy); 0: not part of the rule"`
	TransitionMinSize  string `envconfig:"TRASHD_TRANSITION_MIN_SIZE" opt:"Reconcile.Archive.Rule.MinSize" desc:"transition only copies larger than this (the rule's size filter); 0: S3's default, 128 KB"`
	TransitionGrace    string `envconfig:"TRASHD_TRANSITION_GRACE" opt:"Reconcile.Archive.Grace" desc:"a transition is overdue this long after it was due, the rule's days rounded up to the next midnight UTC (S3 queues transitions then and can run them hours or days later)"`
	TransitionChecks   string `envconfig:"TRASHD_TRANSITION_CHECKS" opt:"Reconcile.Archive.ChecksPerPass" desc:"copies checked with HEAD per pass for their transition"`
	RestoreDays        string `envconfig:"TRASHD_RESTORE_DAYS" opt:"Reconcile.Archive.RestoreDays" desc:"days S3 keeps the temporary copy of a restore from the archive class"`
	RestoreTier        string `envconfig:"TRASHD_RESTORE_TIER" opt:"Reconcile.Archive.RestoreTier" desc:"restore tier: Expedited (minutes), Standard (hours) or Bulk (up to 12/48 h)"`
	RestorePoll        string `envconfig:"TRASHD_RESTORE_POLL" opt:"Reconcile.Archive.RestorePoll" desc:"how often a restore in progress is looked at"`
	ExpeditedFallback  string `envconfig:"TRASHD_RESTORE_EXPEDITED_FALLBACK" opt:"Reconcile.Archive.ExpeditedFallback" desc:"the tier an Expedited restore takes where S3 has none (DEEP_ARCHIVE, or 503 GlacierExpeditedRetrievalNotAvailable): Standard, Bulk, or off (fail or retry instead)"`
	PriceStandard      string `envconfig:"TRASHD_PRICE_STANDARD" opt:"Prices.STANDARD" desc:"status --cost: USD per GB-month in STANDARD (us-east-1, 2025-01)"`
	PriceGlacierIR     string `envconfig:"TRASHD_PRICE_GLACIER_IR" opt:"Prices.GLACIER_IR" desc:"status --cost: USD per GB-month in GLACIER_IR"`
	PriceGlacier       string `envconfig:"TRASHD_PRICE_GLACIER" opt:"Prices.GLACIER" desc:"status --cost: USD per GB-month in GLACIER"`
	PriceDeepArchive   string `envconfig:"TRASHD_PRICE_DEEP_ARCHIVE" opt:"Prices.DEEP_ARCHIVE" desc:"status --cost: USD per GB-month in DEEP_ARCHIVE"`
	LifecycleDayLength string `envconfig:"TRASHD_LIFECYCLE_DAY_LENGTH" opt:"Reconcile.Archive.DayLength" desc:"the length of a lifecycle day; change it only against an S3 emulation with an accelerated clock (the demo)"`

	unknown []unknownVariable // TRASHD_ variables set but not in this table
}

// defaultEnv is every variable's default: the owning package's constant
// where there is one, cmd's own choice where only cmd uses the setting.
func defaultEnv() env {
	itoa, dur, size, price := strconv.Itoa, formatDuration, formatBytes, formatPrice
	return env{
		MySQLHost:         db.DefaultHost,
		MySQLPort:         itoa(db.DefaultPort),
		MySQLUser:         "trashd",
		MySQLDatabase:     "lms",
		MySQLTLS:          db.DefaultTLS,
		MySQLMaxOpen:      itoa(db.DefaultMaxOpenConns),
		MySQLMaxIdle:      itoa(db.DefaultMaxOpenConns),
		MySQLConnLife:     dur(db.DefaultConnMaxLifetime),
		MySQLDialTimeout:  dur(db.DefaultDialTimeout),
		MySQLReadTimeout:  dur(db.DefaultIOTimeout),
		MySQLWriteTimeout: dur(db.DefaultIOTimeout),

		LMSTable:       "files",
		LMSIDColumn:    "id",
		LMSKeyColumn:   "s3_key",
		LMSTrashColumn: "trashed",
		LMSTrashKind:   db.TrashFlag,
		LMSUniqueKeys:  "false",

		S3Region:           "us-east-1",
		S3PathStyle:        "false",
		S3Checksums:        checksumsWhenSupported,
		TrashKeyTemplate:   reconcile.DefaultKeyTemplate,
		MultipartThreshold: size(s3ops.DefaultMultipartThreshold),
		PartSize:           size(s3ops.DefaultPartSize),
		PartConcurrency:    itoa(s3ops.DefaultPartConcurrency),
		DeleteAfterHead:    "false",
		BatchSize:          itoa(reconcile.DefaultBatchSize),
		Concurrency:        itoa(reconcile.DefaultConcurrency),
		MoveBatch:          itoa(reconcile.DefaultMoveBatch),
		Lease:              dur(reconcile.DefaultLease),
		MaxAttempts:        itoa(reconcile.DefaultMaxAttempts),
		BackoffBase:        dur(reconcile.DefaultBackoffBase),
		BackoffMax:         dur(reconcile.DefaultBackoffMax),
		FailAfter:          dur(reconcile.DefaultFailAfter),
		SharedRecheck:      dur(reconcile.DefaultSharedCheck),
		AllowMassChange:    "false",
		MassChangeCount:    itoa(reconcile.DefaultMassCount),
		MassChangeShare:    strconv.FormatFloat(reconcile.DefaultMassShare, 'f', -1, 64),
		LogLevel:           "info",
		LogFormat:          "auto",

		Schedule:         "@every 15m",
		RunAtStart:       "true",
		MetricsAddr:      "127.0.0.1:9464",
		ShutdownGrace:    dur(reconcile.DefaultGrace),
		ProgressInterval: "10s",

		ArchiveMode:        reconcile.ArchiveLifecycle,
		LifecycleMode:      reconcile.LifecycleVerify,
		LifecycleRuleID:    reconcile.DefaultRuleID,
		TransitionDays:     itoa(reconcile.DefaultTransitionDays),
		StorageClass:       reconcile.DefaultStorageClass,
		ExpirationDays:     "0",
		AbortUploadsDays:   itoa(reconcile.DefaultAbortIncompleteDays),
		TransitionMinSize:  "0",
		TransitionGrace:    dur(reconcile.DefaultTransitionGrace),
		TransitionChecks:   itoa(reconcile.DefaultChecksPerPass),
		RestoreDays:        itoa(reconcile.DefaultRestoreDays),
		RestoreTier:        reconcile.DefaultRestoreTier,
		RestorePoll:        dur(reconcile.DefaultRestorePoll),
		ExpeditedFallback:  reconcile.DefaultExpeditedFallback,
		PriceStandard:      price(reconcile.DefaultPrices["STANDARD"]),
		PriceGlacierIR:     price(reconcile.DefaultPrices["GLACIER_IR"]),
		PriceGlacier:       price(reconcile.DefaultPrices["GLACIER"]),
		PriceDeepArchive:   price(reconcile.DefaultPrices["DEEP_ARCHIVE"]),
		LifecycleDayLength: dur(reconcile.DefaultDayLength),
	}
}

// variable is one row of the env table.
type variable struct {
	Name, Default, Desc string
	Opt                 string // the option fields under Config, separated by commas; "" for none
	field               int    // index in env
}

// variables lists env's table in field order.
func variables() []variable {
	t := reflect.TypeFor[env]()
	def := reflect.ValueOf(defaultEnv())
	var vars []variable
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		vars = append(vars, variable{
			Name: f.Tag.Get("envconfig"), Default: def.Field(i).String(),
			Desc: f.Tag.Get("desc"), Opt: f.Tag.Get("opt"), field: i,
		})
	}
	return vars
}

// varOf names the variable that sets the option field opt (a path under
// Config, "Reconcile.Lease"), or "" when none does. A variable may set
// several fields: its opt tag lists them, separated by commas.
func varOf(opt string) string {
	for _, v := range variables() {
		if slices.Contains(strings.Split(v.Opt, ","), opt) {
			return v.Name
		}
	}
	return ""
}

// value is v's value in e.
func (e env) value(v variable) string { return reflect.ValueOf(e).Field(v.field).String() }

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

	// Warnings are problems that do not stop trashd, such as a TRASHD_
	// variable it does not know; a command prints them at start.
	Warnings []string
}

// readEnv reads every variable over its default. The tags name whole
// variables and the prefix is empty: with a prefix, envconfig would also
// read MYSQL_HOST, LEASE or SCHEDULE when the TRASHD_ form is unset.
func readEnv() (env, error) {
	e := defaultEnv()
	if err := envconfig.Process("", &e); err != nil {
		return e, err
	}
	e.unknown = unknownVariables(os.Environ())
	return e, nil
}

// parse turns e into a Config and reports every problem at once, each naming
// its variable and what to do. Each subject's file parses its variables into
// the options, which the options' own Validate then check; parse maps their
// fields back to variables.
func parse(e env) (Config, error) {
	p := &problems{}
	var c Config
	c.DB = parseDB(p, e)
	c.LMS = parseLMS(p, e)
	c.S3 = parseS3(p, e)
	c.Reconcile = parseReconcile(p, e)
	c.Prices = parsePrices(p, e)
	parseService(p, e, &c)

	p.fields("DB", c.DB.Validate())
	p.fields("LMS", c.LMS.Validate())
	p.fields("S3", c.S3.Validate())
	p.fields("Reconcile", c.Reconcile.Validate())
	p.fields("Prices", c.Prices.Validate())
	checkAcross(p, c)
	for _, u := range e.unknown {
		c.Warnings = append(c.Warnings, u.String())
	}
	return c, p.err()
}

// checkAcross checks the rules that tie two packages' options together:
// only cmd sees both.
func checkAcross(p *problems, c Config) {
	// A renewal must fit well inside the lease: a delete needs a fence sent
	// less than a quarter of the lease ago, and a database that takes its
	// full timeouts to answer would otherwise let the lease lapse.
	lease := c.Reconcile.Lease
	if mysql := c.DB.DialTimeout + c.DB.ReadTimeout + c.DB.WriteTimeout; lease > 0 && mysql > 0 && lease < 3*mysql {
		p.add("TRASHD_LEASE", fmt.Sprintf("%s is shorter than 3 × (TRASHD_MYSQL_DIAL_TIMEOUT + TRASHD_MYSQL_READ_TIMEOUT + TRASHD_MYSQL_WRITE_TIMEOUT) = %s: "+
			"a lease must outlast several database round trips at their timeouts; raise the lease or lower the timeouts", lease, formatDuration(3*mysql)))
	}
}
