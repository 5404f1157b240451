# Sourced by the launch scripts in jobs/bin: the one place for the JVM module flags, the application jar and
# Spark's own classpath. Sets HOME_DIR and TARGET.
# shellcheck shell=bash
HOME_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET="$HOME_DIR/jobs/target"

# The module flags Spark's own launcher adds (org.apache.spark.launcher.JavaModuleOptions): read from the parent
# pom's spark.module.opens, the same property surefire's and failsafe's argLine use, so no script repeats them.
read -r -a MODULE_OPTS <<< "$(sed -n 's:.*<spark.module.opens>\(.*\)</spark.module.opens>.*:\1:p' "$HOME_DIR/pom.xml")"
if [[ ${#MODULE_OPTS[@]} -eq 0 ]]; then
  echo "jobs/bin: no <spark.module.opens> in $HOME_DIR/pom.xml" >&2; exit 1
fi

# The application jar the build made (whatever the version): jobs/target/embedpipe-jobs-*.jar, not a sources,
# tests or javadoc jar; the newest if there are several. Prints nothing when there is none yet.
app_jar() {
  find "$TARGET" -maxdepth 1 -name 'embedpipe-jobs-*.jar' ! -name '*-sources.jar' ! -name '*-tests.jar' \
    ! -name '*-javadoc.jar' -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -1 | cut -d' ' -f2-
}

# Spark's runtime from the build's classpath, without the application's own libraries: those reach the driver and
# executors through --jars (jobs/target/lib), as with a real Spark installation.
spark_classpath() {
  if [[ ! -f "$TARGET/classpath.txt" ]]; then
    mvn -q -B -f "$HOME_DIR/pom.xml" -DskipTests package >&2
  fi
  tr ':' '\n' < "$TARGET/classpath.txt" | grep -v -e /ai/djl/ -e /onnxruntime/ -e /langchain4j -e /picocli/ \
    -e jackson-dataformat-yaml -e /snakeyaml/ -e /bucket4j -e /resilience4j/ -e /net/java/dev/jna/ -e /code/gson/ \
    | paste -sd:
}
