"""End-to-end MCP tool-call tests on SQLite: the real collector stores calls, ties credentials to them and alerts."""
import unittest

from collector_harness import Collector
from tool_call_scenarios import ToolCallScenarios


class SqliteToolCallTest(ToolCallScenarios, unittest.TestCase):
    def setUp(self):
        self.collectors = []

    def tearDown(self):
        for c in self.collectors:
            c.cleanup()

    def new_collector(self):
        c = Collector()
        self.collectors.append(c)
        return c.start()

    def restart(self, collector):
        collector.stop()
        return collector.start()


if __name__ == "__main__":
    unittest.main()
