# trashd — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/trashd
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEV_ENV := .dev/env
PREFIX ?= /usr/local

.DEFAULT_GOAL := help

.PHONY: help
help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/trashd
	$(GO) build -ldflags "-X main.Version=$(VERSION)" -o $(BIN) ./cmd/trashd

.PHONY: dev-up
dev-up: ## start MariaDB and SeaweedFS on 127.0.0.1, build versitygw, check moto (installs and builds what is missing)
	scripts/dev-up.sh

.PHONY: dev-down
dev-down: ## stop the SeaweedFS that dev-up started
	scripts/dev-down.sh

.PHONY: test
test: dev-up ## start the local servers and run every test (go vet, the systemd unit, the alert rules, dev-up's port waiting, go test -race)
	$(GO) vet ./...
	scripts/check-systemd.sh
	scripts/check-alerts.sh
	scripts/stop-weed-test.sh
	set -a && source $(DEV_ENV) && $(GO) test -race -count=1 -timeout 30m ./...

.PHONY: check-systemd
check-systemd: ## systemd-analyze verify and security (exposure at most 1.5) of systemd/trashd.service
	scripts/check-systemd.sh
	scripts/stop-weed-test.sh

.PHONY: check-alerts
check-alerts: ## promtool check and test of ops/prometheus/alerts.yml (fetches promtool from Debian's prometheus package on first use)
	scripts/check-alerts.sh

.PHONY: install
install: build ## install trashd as a systemd service (as root; DESTDIR=, PREFIX= for packages)
	DESTDIR=$(DESTDIR) scripts/install.sh --bin $(BIN) --prefix $(PREFIX)

.PHONY: glacier
glacier: dev-up ## run the Glacier emulation layer (lifecycle, transitions, restores) in front of the local S3 server
	set -a && source $(DEV_ENV) && $(GO) run ./scripts/glacier

.PHONY: demo
demo: dev-up build ## seed a sample LMS and its objects, then run one pass and show the result
	scripts/demo.sh

.PHONY: bench
bench: ## time trashd against rclone and raw CopyObject, on the local servers and with +15 ms and +50 ms per S3 request; figures in .dev/bench/result.json
	scripts/bench.sh

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...
