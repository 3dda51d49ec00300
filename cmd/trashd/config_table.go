package main

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// variable is one row of trashd's one table of settings: its variable, its
// default, what it is for (the README's configuration table is these rows,
// TestREADMEConfigurationTable checks it), the option fields it sets and how
// its value is read into them. The parser, `trashd config`, the check for
// unknown variables, the defaults and the variable a Validate error names
// (varOf) all read this table and nothing else.
type variable struct {
	Name    string
	Default string
	Desc    string // Markdown, as the README's table shows it
	// Opt lists the fields under Config that the variable sets, as the
	// packages' Validate errors name them ("Reconcile.Lease"), separated by
	// commas; "" for none.
	Opt   string
	parse func(p *problems, v string, c *Config)
}

// variables is the table, in the README's order: each subject's file
// declares its rows.
func variables() []variable {
	var vars []variable
	for _, rows := range [][]variable{dbVariables(), s3Variables(), passVariables(), serviceVariables(), archiveVariables(), inventoryVariables()} {
		vars = append(vars, rows...)
	}
	return vars
}

// The typed rows: each takes the default in its own type, so that it is the
// owning package's constant, and a function that names the field it sets,
// from which the row's Opt is found (fieldPath).

func stringVar(name, def, desc string, field func(*Config) *string) variable {
	return variable{Name: name, Default: def, Desc: desc, Opt: fieldPath(field),
		parse: func(_ *problems, v string, c *Config) { *field(c) = v }}
}

func intVar(name string, def int, desc string, field func(*Config) *int) variable {
	return variable{Name: name, Default: strconv.Itoa(def), Desc: desc, Opt: fieldPath(field),
		parse: func(p *problems, v string, c *Config) { *field(c) = p.int(name, v) }}
}

func boolVar(name string, def bool, desc string, field func(*Config) *bool) variable {
	return variable{Name: name, Default: strconv.FormatBool(def), Desc: desc, Opt: fieldPath(field),
		parse: func(p *problems, v string, c *Config) { *field(c) = p.bool(name, v) }}
}

func durationVar(name string, def time.Duration, desc string, field func(*Config) *time.Duration) variable {
	return variable{Name: name, Default: formatDuration(def), Desc: desc, Opt: fieldPath(field),
		parse: func(p *problems, v string, c *Config) { *field(c) = p.duration(name, v) }}
}

func bytesVar(name string, def int64, desc string, field func(*Config) *int64) variable {
	d := formatBytes(def)
	if def == 0 {
		d = "0"
	}
	return variable{Name: name, Default: d, Desc: desc, Opt: fieldPath(field),
		parse: func(p *problems, v string, c *Config) { *field(c) = p.bytes(name, v) }}
}

// floatVar reads a number; what says what it is in the message that refuses
// one that does not parse.
func floatVar(name string, def float64, desc, what string, field func(*Config) *float64) variable {
	return variable{Name: name, Default: formatPrice(def), Desc: desc, Opt: fieldPath(field),
		parse: func(p *problems, v string, c *Config) { *field(c) = p.float(name, v, what) }}
}

// fieldPath finds the field that field points into, in a Config, by its
// address: "Reconcile.Archive.Rule.ID". Maps and pointers are not walked
// into; a field that is not found is the table's own bug, which
// TestEveryVariableNamesAnOptionField reports.
func fieldPath[T any](field func(*Config) *T) string {
	c := new(Config)
	target := reflect.ValueOf(field(c))
	var walk func(v reflect.Value, path []string) string
	walk = func(v reflect.Value, path []string) string {
		for i := range v.NumField() {
			f := v.Field(i)
			p := append(path[:len(path):len(path)], v.Type().Field(i).Name)
			if f.UnsafeAddr() == target.Pointer() && f.Type() == target.Type().Elem() {
				return strings.Join(p, ".")
			}
			if f.Kind() == reflect.Struct {
				if s := walk(f, p); s != "" {
					return s
				}
			}
		}
		return ""
	}
	if s := walk(reflect.ValueOf(c).Elem(), nil); s != "" {
		return s
	}
	return fmt.Sprintf("(no field of Config at %v)", target.Pointer())
}

// configTable is the README's configuration table: a header and a row per
// variable, in the table's order.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range variables() {
		def := " "
		if v.Default != "" {
			def = " `" + v.Default + "` "
		}
		fmt.Fprintf(&b, "| `%s` |%s| %s |\n", v.Name, def, v.Desc)
	}
	return b.String()
}
