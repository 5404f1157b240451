"""Daily embedpipe run under Airflow.

Embeds the day's input partition ({{ ds }}) with SparkSubmitOperator, using the spark-submit arguments of
conf/spark-submit.json (the same ones the README's cluster command and SparkSubmitIT use). All daily runs share one
embedding cache (cache.table), so a retried or repeated day pays only for what is new: the job is idempotent.
The API key comes from the Airflow connection's password (or the worker's environment) and reaches executors as
spark.executorEnv.OPENAI_API_KEY, which the job redacts from Spark's UI and event log.

In YARN or Kubernetes cluster mode the driver's exit code does not reach Airflow, so a second task reads the run's
manifest.json and fails when the run failed, went over a quality threshold or ran out of budget.

The second DAG, embedpipe_daily_batch, embeds through OpenAI's Batch API at half the price (embedder.mode=batch):
one task submits the batches and ends (--submit-only), then a collect task (--collect) commits what finished and
exits 3 while batches are pending; Airflow retries it every COLLECT_EVERY for up to a day, so no worker is held while
OpenAI works. Retrying either task never pays twice: the run's journal (OUTPUT/_batches/) attaches to the batches
already submitted. The collect task needs the driver's exit code (client deploy mode, as conf/spark-submit.json).
"""
import json
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

PROJECT = os.environ.get("EMBEDPIPE_HOME", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
ARGS_FILE = os.path.join(PROJECT, "conf", "spark-submit.json")
INPUT = os.environ.get("EMBEDPIPE_INPUT", "s3a://corpus/jsonl/dt={{ ds }}/")
OUTPUT = os.environ.get("EMBEDPIPE_OUTPUT", "s3a://embeddings/daily/dt={{ ds }}")
CACHE = os.environ.get("EMBEDPIPE_CACHE", "s3a://embeddings/cache")
COLLECT_EVERY = timedelta(minutes=30)
COLLECT_FOR = timedelta(hours=26)  # the Batch API answers within 24 h
MODEL = os.environ.get("EMBEDPIPE_MODEL", "")  # a local-onnx catalog model; empty: the default (or a remote provider)


def submit_arguments(input_path, output_path, args_file=ARGS_FILE, model=""):
    """The operator's arguments from the shared args file, with this run's input, output and model filled in."""
    with open(args_file, encoding="utf-8") as f:
        spec = json.load(f)
    jars_dir = os.path.join(PROJECT, spec["jars_dir"])
    jars = sorted(os.path.join(jars_dir, n) for n in os.listdir(jars_dir)) if os.path.isdir(jars_dir) else []
    args = [a.replace("{input}", input_path).replace("{output}", output_path) for a in spec["application_args"]]
    shipped = model or spec["default_model"]  # ship only the run's model jar (none named: the default's)
    if shipped in spec["model_jars"]:
        jars.append(os.path.join(PROJECT, spec["models_dir"], spec["model_jars"][shipped]))
    if model:
        args += ["--set", "embedder.model=" + model]
    return {
        "java_class": spec["class"],
        "application": os.path.join(PROJECT, spec["application"]),
        "jars": ",".join(jars),
        "conf": dict(spec["conf"]),
        "application_args": args,
    }


def check_manifest(output_path, **_):
    """Fails the task unless the run's manifest says it succeeded (the exit code is lost in cluster mode)."""
    from urllib.parse import urlparse
    parsed = urlparse(output_path)
    if parsed.scheme in ("", "file"):
        with open(os.path.join(parsed.path, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
    else:  # object stores: read through the job's own Hadoop settings is overkill here; use fsspec when present
        import fsspec
        with fsspec.open(output_path.rstrip("/") + "/manifest.json", "r") as f:
            manifest = json.load(f)
    status = manifest.get("status")
    if status != "succeeded":  # batch_pending too: the collect task has not finished
        raise RuntimeError("embedpipe run %s ended %s: %s" % (manifest.get("run_id"), status,
                                                             manifest.get("quality", {}).get("breaches")))
    return manifest["totals"]


arguments = submit_arguments(INPUT, OUTPUT, model=MODEL)
arguments["application_args"] += ["--set", "cache.table=" + CACHE]
arguments["conf"]["spark.executorEnv.OPENAI_API_KEY"] = "{{ conn.openai_default.password }}"

with DAG(
    dag_id="embedpipe_daily",
    start_date=datetime(2026, 1, 1),
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},  # safe: reruns reuse the cache
    tags=["embedpipe"],
) as dag:
    embed = SparkSubmitOperator(task_id="embed", conn_id="spark_default", name="embedpipe-{{ ds }}", **arguments)
    check = PythonOperator(task_id="check_manifest", python_callable=check_manifest,
                           op_kwargs={"output_path": OUTPUT})
    embed >> check


def batch_arguments(step):
    """The daily arguments in batch mode, for one step: --submit-only or --collect."""
    args = submit_arguments(INPUT, OUTPUT)
    args["application_args"] += ["--set", "cache.table=" + CACHE, "--set", "embedder.mode=batch", step]
    args["conf"]["spark.executorEnv.OPENAI_API_KEY"] = "{{ conn.openai_default.password }}"
    args["env_vars"] = {"OPENAI_API_KEY": "{{ conn.openai_default.password }}"}  # the driver calls the Batch API
    return args


with DAG(
    dag_id="embedpipe_daily_batch",
    start_date=datetime(2026, 1, 1),
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},  # safe: the journal attaches, never resubmits
    tags=["embedpipe", "batch"],
) as batch_dag:
    submit = SparkSubmitOperator(task_id="batch_submit", conn_id="spark_default", name="embedpipe-submit-{{ ds }}",
                                 **batch_arguments("--submit-only"))
    collect = SparkSubmitOperator(task_id="batch_collect", conn_id="spark_default", name="embedpipe-collect-{{ ds }}",
                                  retries=int(COLLECT_FOR / COLLECT_EVERY), retry_delay=COLLECT_EVERY,
                                  retry_exponential_backoff=False, **batch_arguments("--collect"))
    batch_check = PythonOperator(task_id="batch_check_manifest", python_callable=check_manifest,
                                 op_kwargs={"output_path": OUTPUT})
    submit >> collect >> batch_check
