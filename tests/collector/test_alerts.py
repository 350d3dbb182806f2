"""End-to-end alert tests on SQLite: the real collector computes alerts at ingest; /v1/alerts names the evidence."""
import os
import shutil
import tempfile
import unittest

from alert_scenarios import AlertScenarios
from collector_harness import Collector


class SqliteAlertTest(AlertScenarios, unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="credtrace-alerts-")
        os.chmod(self.workdir, 0o755)  # rule files are read by the unprivileged collector
        self.collectors = []

    def tearDown(self):
        for c in self.collectors:
            c.cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def new_collector(self, extra_args=(), expect_ready=True):
        c = Collector(extra_args=extra_args)
        self.collectors.append(c)
        return c.start(expect_ready=expect_ready)


if __name__ == "__main__":
    unittest.main()
