# Everything a fresh machine needs is fetched or built by these targets; see README.md.
GO       ?= go
BIN      := bin/vault-plugin-secrets-nhi
FUZZTIME ?= 5s

.PHONY: build test unit e2e fuzz demo dev bench fmt vet lint clean vault

build:
	$(GO) build -o $(BIN) ./cmd/vault-plugin-secrets-nhi

# The whole suite: static checks, unit and backend tests, brief fuzzing, end-to-end
# tests against a real Vault (built once and cached by scripts/get-vault.sh).
test: lint unit fuzz e2e

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/)

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

vault:
	scripts/get-vault.sh

e2e: vault
	NHI_VAULT_BIN=$$(scripts/get-vault.sh) $(GO) test -count=1 -timeout 30m ./tests/...

demo:
	scripts/demo.sh

dev:
	scripts/dev-server.sh

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./backend/... ./providers/...
	scripts/bench-issue.sh

fmt:
	gofmt -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')

clean:
	rm -rf bin .dev
