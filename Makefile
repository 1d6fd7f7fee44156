# Pulse: build, test, install. `make install` needs root (see scripts/install.sh).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go

.PHONY: build test install clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/pulse ./cmd/pulse

# scripts/test.sh installs the tools the tests drive (apt-get), then vet,
# staticcheck and the tests: the README's test command, and CI's.
test:
	scripts/test.sh

install: build
	VERSION=$(VERSION) scripts/install.sh --binary bin/pulse

clean:
	rm -rf bin
