"""JSON log lines: the record of an event, the observer, and twistd writing them."""

from __future__ import annotations

import io
import json
import signal

import dns.rcode
from twisted.internet import defer
from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.python.failure import Failure
from twisted.python.usage import UsageError
from twisted.trial import unittest

from tests.integration.twistd import Twistd, ask
from twisted_dns import logging as json_logging
from twisted_dns import tap
from twisted_dns.logging import JSONLineObserver, event_as_record, rfc3339
from twisted_dns.testing import free_port


def emitted(emit) -> list[dict]:
    """The JSON objects a JSONLineObserver writes for what ``emit(logger)`` logs."""
    stream = io.StringIO()
    publisher = LogPublisher(JSONLineObserver(stream))
    emit(Logger(namespace="test", observer=publisher))
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class RecordTests(unittest.TestCase):
    def test_stable_keys_and_fields(self) -> None:
        [record] = emitted(lambda log: log.info("served {name} in {ms}ms", name="a.", ms=1.5))
        self.assertEqual(list(record)[:4], ["time", "level", "namespace", "message"])
        self.assertEqual((record["level"], record["namespace"], record["message"]),
                         ("info", "test", "served a. in 1.5ms"))
        self.assertEqual((record["name"], record["ms"]), ("a.", 1.5))
        self.assertFalse(any(key.startswith("log_") for key in record))

    def test_levels(self) -> None:
        records = emitted(lambda log: [log.debug("d"), log.warn("w"), log.error("e"),
                                       log.critical("c")])
        self.assertEqual([r["level"] for r in records], ["debug", "warn", "error", "critical"])

    def test_rfc3339(self) -> None:
        self.assertEqual(rfc3339(0.5), "1970-01-01T00:00:00.500Z")
        [record] = emitted(lambda log: log.info("x"))
        self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_unserializable_fields_left_out(self) -> None:
        [record] = emitted(lambda log: log.info("{obj!r}", obj=object(), nan=float("nan"),
                                                items=[1, "a"], mapping={"k": (1, 2)}))
        self.assertNotIn("obj", record)
        self.assertNotIn("nan", record)
        self.assertEqual((record["items"], record["mapping"]), ([1, "a"], {"k": [1, 2]}))
        self.assertTrue(record["message"].startswith("<object object at "))

    def test_failure_has_traceback(self) -> None:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            failure = Failure()
        [record] = emitted(lambda log: log.failure("it broke", failure))
        self.assertEqual((record["level"], record["message"]), ("critical", "it broke"))
        self.assertIn("ZeroDivisionError", record["traceback"])

    def test_query_log_line(self) -> None:
        """The *log* plugin's event field comes along (its line is also the message)."""
        record = event_as_record({"log_format": "{log_line}", "log_line": "1.2.3.4:5 - 1 ...",
                                  "log_level": LogLevel.info, "log_namespace": "log",
                                  "log_time": 0.0})
        self.assertEqual(record["log_line"], record["message"])
        self.assertEqual(record["namespace"], "log")

    def test_field_named_like_a_key_does_not_replace_it(self) -> None:
        record = event_as_record({"log_format": "m", "log_level": LogLevel.info,
                                  "log_namespace": "test", "log_time": 0.0,
                                  "level": "custom", "namespace": "other", "time": 1})
        self.assertEqual((record["level"], record["namespace"]), ("info", "test"))
        self.assertEqual(record["time"], "1970-01-01T00:00:00.000Z")


class OptionTests(unittest.TestCase):
    """``--log-format json`` sets twistd's ``--logger`` (before twistd resolves it)."""

    def parent(self, **values) -> dict:
        return {"logger": None, "logfile": None, "nodaemon": True, **values}

    def parse(self, args: list[str], parent: dict | None) -> tap.Options:
        options = tap.Options()
        options.parent = parent
        options.parseOptions(args)
        return options

    def setUp(self) -> None:
        self.patch(json_logging, "output_path", None)
        self.patch(tap.os, "environ", {})

    def test_json_sets_the_logger(self) -> None:
        parent = self.parent()
        self.parse(["--log-format", "json"], parent)
        self.assertEqual(parent["logger"], "twisted_dns.logging.json_observer")
        self.assertIsNone(json_logging.output_path)

    def test_environment(self) -> None:
        self.patch(tap.os, "environ", {"TWISTED_DNS_LOG_FORMAT": "json"})
        parent = self.parent()
        self.assertEqual(self.parse([], parent)["log-format"], "json")
        self.assertEqual(parent["logger"], "twisted_dns.logging.json_observer")

    def test_text_leaves_twistd_alone(self) -> None:
        parent = self.parent()
        self.parse([], parent)
        self.assertIsNone(parent["logger"])

    def test_logfile_and_daemon(self) -> None:
        self.parse(["--log-format", "json"], self.parent(logfile="/var/log/dns.log"))
        self.assertEqual(json_logging.output_path, "/var/log/dns.log")
        self.parse(["--log-format", "json"], self.parent(nodaemon=False))
        self.assertEqual(json_logging.output_path, "twistd.log")

    def test_explicit_logger_wins(self) -> None:
        parent = self.parent(logger="my.observer")
        self.parse(["--log-format", "json"], parent)
        self.assertEqual(parent["logger"], "my.observer")

    def test_bad_format(self) -> None:
        exc = self.assertRaises(UsageError, self.parse, ["--log-format", "xml"], self.parent())
        self.assertEqual(str(exc), "--log-format must be one of text, json, not 'xml'")


class TwistdTests(unittest.TestCase):
    """Every line twistd writes is one JSON object with the keys, query lines included."""

    @defer.inlineCallbacks
    def check(self, *args: str, twistd_args: tuple[str, ...] = (),
              env: dict[str, str] | None = None):
        port = free_port()
        server = Twistd(self, f"example.org:{port} {{\n    log\n    whoami\n}}\n", *args,
                        twistd_args=twistd_args, env=env)
        yield server.until(lambda: ask(port, "example.org") == dns.rcode.NOERROR, 30)
        server.signal(signal.SIGUSR1)
        yield server.until(lambda: "reloaded the configuration" in server.log(), 10)
        server.signal(signal.SIGTERM)
        yield server.exited()
        records = [json.loads(line) for line in server.log().splitlines()]
        for record in records:
            self.assertEqual(list(record)[:4], ["time", "level", "namespace", "message"])
        queries = [r for r in records if r["namespace"] == "log"]
        self.assertTrue(queries, server.log())
        self.assertIn('"A IN example.org. udp', queries[0]["log_line"])

    def test_log_format_option(self):
        return self.check("--log-format", "json")

    def test_twistd_logger_option(self):
        return self.check(twistd_args=("--logger", "twisted_dns.logging.json_observer"))
