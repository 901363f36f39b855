#!/usr/bin/env bash
# EXPERIMENTAL (issue 12 feasibility study; not part of `make build` or `make test`).
# Builds a GraalVM native image of Skiff (or of a hello world) from what this machine can reach:
# the Substrate VM builder jars from Maven Central (org.graalvm.nativeimage:svm 25.0.2), the local
# Temurin 25 JDK (it has JVMCI), gcc and zlib. GraalVM's own C libraries (libsvm, libchelper, the
# jvm stub, their headers) and the JDK's static libraries are not published on any registry we
# reach, so this script:
#   - generates the four C headers the builder needs from the svm jar's struct declarations,
#   - compiles small stand-ins (svmstub.c, jvmstub) for the C functions the image calls,
#   - links the image dynamically against the JDK's own libjava/libnio/libnet/libzip.so, with a
#     stub libjvm.so so that no HotSpot is loaded.
# The result runs, but it is not a supported GraalVM configuration: see
# bench/results/2026-12-07-1720-native.md for what was checked and what was not.
#   bench/native-image/build.sh [skiff|hello]     output: bench/target/native/{skiff|hello}
# Needs `make build` (target/skiff.jar, target/lib) for skiff. CPU-heavy: about 5 min on 2 cores,
# 2 GB of builder heap; run it under flock /work/notes/bench.lock on the shared machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
what=${1:-skiff}
SVM_VERSION=${SVM_VERSION:-25.0.2}
jdk=${JAVA_HOME:-$("$root/bin/find-jdk")}
work="$root/bench/target/native"
mkdir -p "$work/rt" "$work/clib/include" "$work/out"

# 1. Builder jars from Maven Central.
lib="$work/svm-$SVM_VERSION"
if [ ! -f "$lib/svm-$SVM_VERSION.jar" ]; then
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local</groupId><artifactId>native-builder</artifactId><version>1</version><packaging>pom</packaging>
<dependencies><dependency><groupId>org.graalvm.nativeimage</groupId><artifactId>svm</artifactId>
<version>$SVM_VERSION</version></dependency></dependencies></project>
POM
  JAVA_HOME=$jdk "$root/mvnw" -B -q -f "$work/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib"
  JAVA_HOME=$jdk "$root/mvnw" -B -q -f "$work/pom.xml" dependency:copy-dependencies -Dclassifier=sources -DoutputDirectory="$lib/src"
fi

# 2. A copy of the JDK with the builder's progress helper where the builder looks for it.
home="$work/jdk"
if [ ! -x "$home/bin/java" ]; then
  cp -a "$(readlink -f "$jdk")" "$home"
  mkdir -p "$home/lib/svm/builder/lib"
  gcc -shared -fPIC -O2 -I"$home/include" -I"$home/include/linux" -o "$home/lib/svm/builder/lib/libreporterchelper.so" "$here/reporter.c"
fi

# 3. Headers generated from the svm sources' CPUFeatures declarations; empty placeholders for the
#    JDK static libraries (the image links the shared ones instead).
src="$work/svm-src"
[ -d "$src" ] || unzip -q -o "$lib/src/svm-$SVM_VERSION-sources.jar" -d "$src"
for a in amd64:AMD64 aarch64:AArch64 riscv64:RISCV64; do
  f=${a%%:*} c=${a##*:}
  { echo "/* generated from ${c}LibCHelper.CPUFeatures of svm $SVM_VERSION */"; echo '#include <stdint.h>'; echo 'typedef struct {'
    grep -A1 '@CField' "$src/com/oracle/svm/core/$f/${c}LibCHelper.java" | grep -oE 'boolean [A-Za-z0-9_]+\(' | sed -E 's/boolean ([A-Za-z0-9_]+)\(/  uint8_t \1;/'
    echo '} CPUFeatures;'; } >"$work/clib/include/${f}cpufeatures.h"
done
cp "$here/svm_locale.h" "$work/clib/include/"
for l in java nio net zip; do rm -f "$work/clib/lib$l.a"; ar rc "$work/clib/lib$l.a"; done

# 4. C stand-ins: the image's helper functions, and a libjvm.so that answers libjava's JVM_* calls.
gcc -c -O2 -fPIC -I"$home/include" -I"$home/include/linux" -I"$work/clib/include" -o "$work/svmstub.o" "$here/svmstub.c"
impl=$(grep -oE '^[a-z ]+[ *]+(JVM_[A-Za-z]+)\(' "$here/jvmstub-head.c" | grep -oE 'JVM_[A-Za-z]+' | tr '\n' ' ')
{ cat "$here/jvmstub-head.c"
  for f in libjava libnio libnet libzip libextnet libmanagement_ext; do nm -D --undefined-only "$home/lib/$f.so" | awk '{print $2}'; done \
    | sed 's/@.*//' | grep -E '^(JVM_|JDK_)' | sort -u | while read -r s; do
      case " $impl " in *" $s "*) ;; *) echo "void $s(void) { missing(\"$s\"); }" ;; esac
    done
  cat "$here/jvmstub-tail.c"; } >"$work/jvmstub.c"
echo 'SUNWprivate_1.1 { global: JVM_*; JDK_*; jio_*; local: *; };' >"$work/jvmstub.map"
gcc -shared -fPIC -O2 -Wl,-soname,libjvm.so -Wl,--version-script="$work/jvmstub.map" -o "$work/rt/libjvm.so" "$work/jvmstub.c"
for l in java nio net zip extnet management_ext; do cp "$home/lib/lib$l.so" "$work/rt/"; done

# 5. The builder's JVM: JVMCI on, the Maven compiler jar over the JDK's, and the qualified exports a
#    GraalVM JDK would have given the builder modules.
mods=org.graalvm.nativeimage.builder,org.graalvm.nativeimage.base,org.graalvm.nativeimage.pointsto,org.graalvm.nativeimage.objectfile,jdk.graal.compiler,org.graalvm.nativeimage.configure,org.graalvm.truffle.compiler,org.graalvm.nativeimage.libgraal,ALL-UNNAMED
exports="$work/exports.args"; : >"$exports"
for m in $("$home/bin/java" --list-modules | sed 's/@.*//'); do
  case $m in jdk.graal.compiler*|jdk.hotspot.agent|jdk.jcmd) continue ;; esac
  "$home/bin/java" --describe-module "$m" | awk -v m="$m" -v M="$mods" '$1=="contains"{print "--add-exports="m"/"$2"="M} $1=="qualified"{print "--add-exports="m"/"$3"="M}' >>"$exports"
done
mp=$(ls "$lib"/*.jar | grep -v "/compiler-$SVM_VERSION.jar" | tr '\n' ':')

if [ "$what" = hello ]; then
  mkdir -p "$work/hello"
  printf 'public class Hello { public static void main(String[] a) throws Exception { System.out.println("hello native"); if (a.length > 0) Thread.sleep(Long.parseLong(a[0])); } }\n' >"$work/hello/Hello.java"
  "$home/bin/javac" -d "$work/hello" "$work/hello/Hello.java"
  cp="$work/hello" main=Hello extra=()
else
  cp="$root/target/skiff.jar:$(ls "$root"/target/lib/*.jar | tr '\n' ':')" main=dev.skiff.Main
  # the libraries' native-image.properties, as the native-image driver would have passed them
  mapfile -t extra < <(python3 "$here/props2args.py" "$root"/target/lib/*.jar)
  extra+=(-H:ClassInitialization=org.slf4j:build_time   # Netty's build-time loggers hold slf4j's
          -H:ClassInitialization=io.netty.util.internal.CleanerJava24Linker:run_time
          '-H:IncludeResources=(db|dev|ui)/.*'    # Skiff's own resources
          -H:ReflectionConfigurationFiles="$here/reflect-config.json")   # Netty channel constructors (untried)
fi
link=()
for o in "$work/svmstub.o" "$work/rt/libjava.so" "$work/rt/libnio.so" "$work/rt/libnet.so" "$work/rt/libzip.so" "$work/rt/libextnet.so" "$work/rt/libmanagement_ext.so" "$work/rt/libjvm.so" "-Wl,-rpath,$work/rt"; do
  link+=("-H:NativeLinkerOption=$o")
done
[ -z "${NATIVE_PREPARE_ONLY:-}" ] || exit 0   # everything but the CPU-heavy build
exec "$home/bin/java" -XX:+UnlockExperimentalVMOptions -XX:+EnableJVMCI -XX:-UseJVMCICompiler -Xss10m -Xmx4g \
  --upgrade-module-path "$lib/compiler-$SVM_VERSION.jar" --module-path "$mp" --add-modules ALL-DEFAULT \
  --sun-misc-unsafe-memory-access=allow \
  --enable-native-access=ALL-UNNAMED,org.graalvm.nativeimage.builder,org.graalvm.nativeimage.base,org.graalvm.nativeimage.pointsto,jdk.graal.compiler \
  -Dorg.graalvm.nativeimage.imagecode=buildtime -Djdk.internal.lambda.disableEagerInitialization=true -Dcom.oracle.graalvm.isaot=true \
  -Djava.system.class.loader=com.oracle.svm.hosted.NativeImageSystemClassLoader @"$exports" \
  -m org.graalvm.nativeimage.builder/com.oracle.svm.hosted.NativeImageGeneratorRunner \
  -imagecp "$cp" -H:Path="$work/out" -H:Name="$what" -H:Class="$main" -H:CLibraryPath="$work/clib" \
  -H:ImageBuildID="$(cat /proc/sys/kernel/random/uuid)" "${extra[@]}" "${link[@]}"
