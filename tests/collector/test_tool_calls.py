"""End-to-end MCP tool-call tests on SQLite: the real collector stores calls, ties credentials to them and alerts."""
import unittest

from collector_harness import Collector
from tool_call_scenarios import ToolCallScenarios


class SqliteToolCallTest(ToolCallScenarios, unittest.TestCase):
    def make_collector(self):
        return Collector()


if __name__ == "__main__":
    unittest.main()
