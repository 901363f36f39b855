# Skiff: `make run` builds then serves on $PORT (8080); `make test` runs the whole suite.
SHELL := /bin/bash
JAVA_HOME := $(shell bin/find-jdk)
export JAVA_HOME
MVN := ./mvnw -B -q
SOURCES := $(shell find src/main -type f 2>/dev/null) pom.xml

.PHONY: run build test bench dist clean jdk

jdk:
	@test -n "$(JAVA_HOME)" || { bin/find-jdk >/dev/null; exit 1; }

build: jdk target/skiff.jar

target/skiff.jar: $(SOURCES)
	$(MVN) -DskipTests package
	@touch $@

run: build
	bin/skiff

test: jdk
	$(MVN) verify

bench: jdk
	bench/run

dist: build
	bin/make-dist

clean:
	rm -rf target bench/target
