# ringdb — the two commands a newcomer needs are `make run` and `make test`.
GO ?= go

.PHONY: run build test unit interop vet fmt

run:
	$(GO) run ./cmd/ringdb server

build:
	$(GO) build -o bin/ringdb ./cmd/ringdb

# test runs everything: vet, gofmt check, unit + end-to-end tests, and the
# driver interop scripts (Node.js and Python drivers) against a fresh node.
test: vet unit interop

vet:
	@test -z "$$(gofmt -l cmd internal e2e)" || (echo "gofmt needed:"; gofmt -l cmd internal e2e; exit 1)
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 25m ./...

interop:
	./scripts/interop.sh
