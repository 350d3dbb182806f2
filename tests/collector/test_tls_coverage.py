"""End-to-end workload TLS coverage tests on SQLite: the real collector keeps each workload's latest TLS report."""
import unittest

from collector_harness import Collector
from tls_coverage_scenarios import TlsCoverageScenarios


class SqliteTlsCoverageTest(TlsCoverageScenarios, unittest.TestCase):
    def make_collector(self):
        return Collector()


if __name__ == "__main__":
    unittest.main()
