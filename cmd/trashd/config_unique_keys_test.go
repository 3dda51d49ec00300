package main

import (
	"strings"
	"testing"
)

func TestParseUniqueKeys(t *testing.T) {
	e := defaults(t)
	e.vars["TRASHD_TRASH_BUCKET"], e.vars["TRASHD_SOURCE_BUCKET"] = "trash", "files"
	cfg, err := parse(e)
	if err != nil || cfg.LMS.UniqueKeys {
		t.Fatalf("parse(defaults) = UniqueKeys %v, %v; want false", cfg.LMS.UniqueKeys, err)
	}

	e.vars["TRASHD_LMS_UNIQUE_KEYS"] = "true"
	if cfg, err = parse(e); err != nil || !cfg.LMS.UniqueKeys {
		t.Errorf("TRASHD_LMS_UNIQUE_KEYS=true: UniqueKeys %v, %v; want true", cfg.LMS.UniqueKeys, err)
	}

	e.vars["TRASHD_LMS_UNIQUE_KEYS"] = "sometimes"
	if _, err = parse(e); err == nil || !strings.Contains(err.Error(), `TRASHD_LMS_UNIQUE_KEYS: "sometimes" is not true or false`) {
		t.Errorf("TRASHD_LMS_UNIQUE_KEYS=sometimes: %v, want it refused", err)
	}
}
