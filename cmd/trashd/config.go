package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// env is the raw environment: the value of every variable of the table
// (variables) that is set, even to "", by its exact name, the TRASHD_
// variables set that the table does not know, and the AWS variables the SDK
// reads, which are checked for control characters like trashd's own.
type env struct {
	vars    map[string]string // set variables of the table, by name
	aws     map[string]string // set variables of awsVariables, by name
	unknown []unknownVariable // TRASHD_ variables set but not in the table
}

// awsVariables are the AWS SDK's variables that a CRLF env file breaks as
// surely as trashd's own: a "\r" in a key or region otherwise surfaces later
// as a signature mismatch or an unreachable endpoint, retried as transient.
var awsVariables = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"}

// value is v's value in e: as set, else its default. A variable set to ""
// is "", not the default (the env example says so).
func (e env) value(v variable) string {
	if s, ok := e.vars[v.Name]; ok {
		return s
	}
	return v.Default
}

// isSet reports whether the environment sets name, even to "".
func (e env) isSet(name string) bool {
	_, ok := e.vars[name]
	return ok
}

// readEnv reads every variable of the table by its exact name: an unprefixed
// LEASE, MYSQL_HOST or SCHEDULE, which other software may set, is never
// read. envconfig reads them into a struct made from the table (one *string
// field per variable, tagged with its name, so that a variable set to "" is
// told apart from one not set): the table stays the one declaration.
func readEnv() env {
	e := env{vars: map[string]string{}, aws: map[string]string{}}
	vars := variables()
	fields := make([]reflect.StructField, len(vars))
	for i, v := range vars {
		fields[i] = reflect.StructField{
			Name: fmt.Sprintf("V%d", i), Type: reflect.TypeFor[*string](),
			Tag: reflect.StructTag(fmt.Sprintf(`envconfig:%q`, v.Name)),
		}
	}
	read := reflect.New(reflect.StructOf(fields))
	// Every field is a string: envconfig cannot fail to parse one, and the
	// values are parsed (and every bad one reported) by parse.
	if err := envconfig.Process("", read.Interface()); err != nil {
		panic(fmt.Sprintf("envconfig over the table of variables: %v", err))
	}
	for i, v := range vars {
		if s := read.Elem().Field(i).Interface().(*string); s != nil {
			e.vars[v.Name] = *s
		}
	}
	for _, name := range awsVariables {
		if s, ok := os.LookupEnv(name); ok {
			e.aws[name] = s
		}
	}
	e.unknown = unknownVariables(os.Environ())
	return e
}

// varOf names the variable that sets the option field opt (a path under
// Config, "Reconcile.Lease"), or "" when none does. A variable may set
// several fields: its Opt lists them, separated by commas.
func varOf(opt string) string {
	for _, v := range variables() {
		if slices.Contains(strings.Split(v.Opt, ","), opt) {
			return v.Name
		}
	}
	return ""
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
	// Inventory is where S3 Inventory reports land, and how old one may be.
	Inventory reconcile.InventoryConfig

	Schedule         string
	RunAtStart       bool
	ControlSocket    string
	MetricsAddr      string
	ProgressInterval time.Duration

	// Warnings are problems that do not stop trashd, such as a TRASHD_
	// variable it does not know; a command prints them at start.
	Warnings []string
}

// baseConfig is what no variable sets: the settings trashd fixes, and the
// process's identity.
func baseConfig() Config {
	return Config{
		S3: s3ops.Options{
			// Conditions are sent where the probe of a bucket proves them
			// (reconcile decides, per bucket and object).
			ConditionalDelete: true,
			RetryMaxAttempts:  s3ops.DefaultRetryMaxAttempts,
		},
		Reconcile: reconcile.Config{
			Owner:         owner(),
			Host:          hostname(),
			SourceRetries: reconcile.DefaultSourceRetries,
			Mass: reconcile.MassLimits{
				Override: "TRASHD_ALLOW_MASS_CHANGE=true for the service (unset it after), or `trashd reconcile --allow-mass-change` for one pass",
			},
			Forbid: map[reconcile.Condition]string{},
		},
		Prices: reconcile.Prices{},
	}
}

// parse turns e into a Config and reports every problem at once, each naming
// its variable and what to do. Each row of the table parses its variable
// into the options, which the options' own Validate then check; parse maps
// their fields back to variables.
func parse(e env) (Config, error) {
	p := &problems{}
	c := baseConfig()
	parseVariables(p, e, &c, variables())
	for _, name := range awsVariables {
		if val, ok := e.aws[name]; ok {
			p.controlChars(name, val, true)
		}
	}

	p.fields("DB", c.DB.Validate())
	p.fields("LMS", c.LMS.Validate())
	p.fields("S3", c.S3.Validate())
	p.fields("Reconcile", c.Reconcile.Validate())
	p.fields("Prices", c.Prices.Validate())
	p.fields("Inventory", c.Inventory.Validate())
	checkAcross(p, c)
	if len(p.list) == 0 {
		c.Warnings = append(c.Warnings, lifecycleWarnings(c.Reconcile.Archive)...)
	}
	for _, u := range e.unknown {
		c.Warnings = append(c.Warnings, u.String())
	}
	return c, p.err()
}

// parseVariables reads the variables vars of e into c, each by its row.
func parseVariables(p *problems, e env, c *Config, vars []variable) {
	for _, v := range vars {
		val := e.value(v)
		if p.controlChars(v.Name, val, secret(v.Name)) {
			continue
		}
		v.parse(p, val, c)
	}
}

// parseControl reads only the variables that `trashd trigger` needs as much
// as serve: the control socket, the progress interval and the log level and
// format. The service holds the rest.
func parseControl(e env) (Config, error) {
	control := []string{"TRASHD_CONTROL_SOCKET", "TRASHD_PROGRESS_INTERVAL", "TRASHD_LOG_LEVEL", "TRASHD_LOG_FORMAT"}
	vars := slices.DeleteFunc(variables(), func(v variable) bool { return !slices.Contains(control, v.Name) })
	p := &problems{}
	c := baseConfig()
	parseVariables(p, e, &c, vars)
	return c, p.err()
}
