# Skiff: `make run` builds then serves on $PORT (8080); `make test` runs the whole suite.
SHELL := /bin/bash
JAVA_HOME := $(shell bin/find-jdk)
export JAVA_HOME
MVN := ./mvnw -B --no-transfer-progress
SOURCES := $(shell find src/main -type f 2>/dev/null) pom.xml

.PHONY: run build test bench dist clean jdk aot

jdk:
	@test -n "$(JAVA_HOME)" || { bin/find-jdk >/dev/null; exit 1; }

build: jdk target/skiff.jar target/java-home target/native aot

target/skiff.jar: $(SOURCES)
	$(MVN) -q -DskipTests package
	@touch $@

# The JDK the build found, so that bin/skiff need not search for it at every start.
target/java-home: target/skiff.jar
	@echo "$(JAVA_HOME)" > $@

# SQLite's native library, out of the driver's jar once instead of into /tmp at every start.
target/native: target/skiff.jar bin/extract-natives
	@mkdir -p $@ && { bin/extract-natives target/lib $@ || echo "make: SQLite's library stays in its jar (extracted at each start)" >&2; } && touch $@

# A JDK AOT cache, trained on a short run against the bench's mock provider, halves the cold start.
# If training fails Skiff still runs, only slower to start.
aot: target/skiff.aot
target/skiff.aot: target/skiff.jar target/native bench/train-aot bench/lib.sh bin/skiff
	@bench/train-aot $@ || { echo "make: AOT training failed; Skiff will start without a cache" >&2; rm -f $@; }

run: build
	bin/skiff

test: jdk
	@bin/test-services
	$(MVN) verify

# The proxy's own cost (bench/run), then routing's (bench/failover: failover on the healthy path, and
# with a target failing half its requests); each writes its report to bench/results/.
bench: jdk
	bench/run
	bench/failover

dist: build
	bin/make-dist

clean:
	rm -rf target bench/target
