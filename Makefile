# SmartAutoCheck — the two commands a fresh machine needs are `make run` and `make test`.
SHELL     := /bin/bash
GO        ?= go
BIN       := bin/smartautocheck
RUN_ARGS  ?=
KAFKA_RUN := $(CURDIR)/.cache/kafka-run

.PHONY: run build test test-kafka bench lint clean

build:
	$(GO) build -o $(BIN) ./cmd/smartautocheck

## run: everything in one process on the embedded broker (data in ./data, HTTP on :8080, Kafka on :9092)
run: build
	./$(BIN) run $(RUN_ARGS)

## test: pure rules, processors under Goka's tester, and the pipeline suite on the embedded broker
test:
	$(GO) test -race -count=1 -timeout 15m ./...

## test-kafka: the pipeline suite against Apache Kafka 4.1 started from Maven jars
test-kafka:
	@rm -rf $(KAFKA_RUN); mkdir -p $(dir $(KAFKA_RUN))
	@set -e; addr=$$(deploy/kafka/kafka.sh start $(KAFKA_RUN)); \
	  trap 'deploy/kafka/kafka.sh stop $(KAFKA_RUN) >/dev/null 2>&1 || true' EXIT; \
	  echo "Apache Kafka at $$addr"; \
	  SAC_TEST_BROKERS=$$addr $(GO) test -count=1 -timeout 20m -run 'Pipeline' -v ./internal/app/

## bench: throughput and latency next to a raw franz-go baseline measured in the same run
bench:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./internal/bench/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin .cache
