"""One builder per state type: a state's own fields, after those every state has.

``StateBuilders.s_<type>`` gets the raw state, its JSON location and the
common fields already read (name, flow, query language, I/O paths, Assign,
Output) and returns the typed state of ``engine.definition.model``. Parallel
branches and Map processors are state machines of their own, parsed by
``machine`` (the parser's, see ``engine.definition.parse``).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from engine import jsonata
from engine.definition.choice import compile_rule
from engine.definition.fields import (
    ITEM_BATCHER_FIELDS,
    JSONATA_CHOICE_RULE_FIELDS,
    JSONPATH_ONLY,
    MAX_BATCH_BYTES,
    PROCESSOR_CONFIG_FIELDS,
    FieldReader,
)
from engine.definition.model import (
    JSONATA,
    JSONPATH,
    ChoiceRule,
    ChoiceState,
    FailState,
    ItemBatcher,
    MapState,
    ParallelState,
    PassState,
    QueryLanguage,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)
from engine.executor import ParameterChecker, static_parameters
from engine.jsonvalue import JSON
from engine.registry import UnknownResource
from engine.templates import compile_dynamic, pointer


class StateBuilders(FieldReader, abc.ABC):
    """Builds each state type from its fields (see the module docstring)."""

    @abc.abstractmethod
    def machine(
        self, raw: JSON, loc: str, inherited: QueryLanguage, *, top: bool, processor: bool = False
    ) -> StateMachine | None:
        """A nested state machine (a Parallel branch, a Map processor): the parser's."""

    # -- one builder per state type ----------------------------------------
    def s_pass(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        self.result_path(raw, loc, c)
        if c["query_language"] == JSONPATH:
            c["parameters"] = self.jsonpath_value(raw, "Parameters", loc)
        if "Result" in raw:
            c["result"] = raw["Result"]
            c["has_result"] = True
        c["simple"] = (
            c["query_language"] == JSONPATH
            and not any(k in raw for k in ("InputPath", "OutputPath", "Assign"))
            and not c["needs_context"]
        )
        return PassState(**c)

    def s_task(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State | None:
        resource = raw.get("Resource")
        if not isinstance(resource, str):
            self.problem(
                loc if resource is None else pointer(loc, "Resource"),
                "MISSING_FIELD",
                "'Resource' must be a string",
            )
            resource = ""
        ql = c["query_language"]
        self.result_path(raw, loc, c)
        params = self.payload(raw, loc, c)
        if ql == JSONPATH:
            c["result_selector"] = self.jsonpath_value(raw, "ResultSelector", loc)
        timeout, tpath, texpr = self.seconds_field(raw, "TimeoutSeconds", loc, c)
        hb, hpath, hexpr = self.seconds_field(raw, "HeartbeatSeconds", loc, c)
        if timeout is not None and hb is not None and hb >= timeout:
            self.problem(
                pointer(loc, "HeartbeatSeconds"),
                "INVALID_VALUE",
                "'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
            )
        credentials = None
        if "Credentials" in raw:
            credentials = (
                self.jsonpath_value(raw, "Credentials", loc)
                if ql == JSONPATH
                else self.jsonata_value(raw, "Credentials", loc)
            )
        if resource:
            self.check_resource(resource, raw, loc, ql)
        return TaskState(
            **c,
            resource=resource,
            parameters=params,
            retry=self.retriers(raw, loc),
            catch=self.catchers(raw, loc, ql),
            timeout_seconds=timeout,
            timeout_seconds_path=tpath,
            timeout_jsonata=texpr,
            heartbeat_seconds=hb,
            heartbeat_seconds_path=hpath,
            heartbeat_jsonata=hexpr,
            credentials=credentials,
        )

    def check_resource(self, resource: str, raw: Mapping[str, JSON], loc: str, ql: QueryLanguage) -> None:
        if self.registry is None:
            return
        try:
            parsed, reg = self.registry.lookup(resource)
        except UnknownResource as exc:
            self.problem(pointer(loc, "Resource"), "UNKNOWN_RESOURCE", str(exc))
            return
        if not isinstance(reg.executor, ParameterChecker):
            return
        key = "Parameters" if ql == JSONPATH else "Arguments"
        static = static_parameters(raw.get(key), jsonata=ql == JSONATA)
        try:
            found = reg.executor.check_parameters(parsed.action, parsed.pattern, static)
        except Exception as exc:  # a plugin's checker must not turn validation into a traceback
            self.problem(
                pointer(loc, "Resource"),
                "CHECK_FAILED",
                f"the executor could not check its parameters: {exc}",
            )
            return
        for prob in found:
            where = pointer(loc, key)
            for seg in prob.path:
                where = pointer(where, seg)
            self.problem(where, "INVALID_PARAMETER", prob.message)

    def s_choice(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        choices_raw = raw.get("Choices")
        rules: list[ChoiceRule] = []
        cloc = pointer(loc, "Choices")
        if not isinstance(choices_raw, list) or not choices_raw:
            self.problem(
                cloc if "Choices" in raw else loc, "MISSING_FIELD", "'Choices' must be a non-empty array"
            )
        else:
            for i, r in enumerate(choices_raw):
                rloc = pointer(cloc, i)
                if c["query_language"] == JSONATA:
                    rules.append(self.jsonata_rule(r, rloc))
                    continue
                test = compile_rule(r, rloc, self.problems, top=True)
                assign = None
                if isinstance(r, dict) and "Assign" in r:
                    assign = self.assign(r["Assign"], pointer(rloc, "Assign"), JSONPATH)
                nxt = r.get("Next") if isinstance(r, dict) else None
                rules.append(ChoiceRule(test=test, next=nxt if isinstance(nxt, str) else None, assign=assign))
        default = self.string(raw, "Default", loc)
        return ChoiceState(**c, choices=tuple(rules), default=default)

    def jsonata_rule(self, r: JSON, loc: str) -> ChoiceRule:
        if not isinstance(r, dict):
            self.problem(loc, "INVALID_TYPE", "a Choice rule must be an object")
            return ChoiceRule(test=lambda s: False)
        for key in r:
            if key not in JSONATA_CHOICE_RULE_FIELDS:
                self.problem(
                    pointer(loc, key),
                    "UNKNOWN_FIELD",
                    f"Field '{key}' is not supported in a JSONata Choice rule",
                )
        cond = r.get("Condition")
        expr = None
        if isinstance(cond, bool):
            expr = None
        elif isinstance(cond, str) and jsonata.is_jsonata_template(cond):
            expr = self.jsonata_or_literal(cond, pointer(loc, "Condition"))
        else:
            self.problem(
                loc if cond is None else pointer(loc, "Condition"),
                "MISSING_FIELD",
                "'Condition' must be a JSONata expression",
            )
        nxt = r.get("Next")
        if not isinstance(nxt, str):
            self.problem(loc, "MISSING_FIELD", "a Choice rule must have 'Next'")
            nxt = None
        constant = bool(cond) if isinstance(cond, bool) else False
        return ChoiceRule(
            test=lambda s: constant,
            next=nxt,
            assign=self.assign(r["Assign"], pointer(loc, "Assign"), JSONATA) if "Assign" in r else None,
            output=self.jsonata_value(r, "Output", loc),
            jsonata_condition=expr,
        )

    def s_wait(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        given = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in raw]
        if len(given) != 1:
            self.problem(
                loc,
                "INVALID_WAIT",
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            )
        seconds, spath, sexpr = None, None, None
        if "Seconds" in raw or "SecondsPath" in raw:
            seconds, spath, sexpr = self.seconds_field(raw, "Seconds", loc, c)
        timestamp, texpr = None, None
        if "Timestamp" in raw:
            v = raw["Timestamp"]
            if c["query_language"] == JSONATA and isinstance(v, str) and jsonata.is_jsonata_template(v):
                texpr = self.jsonata_or_literal(v, pointer(loc, "Timestamp"))
            elif isinstance(v, str):
                from engine.definition.choice import parse_timestamp

                if parse_timestamp(v) is None:
                    self.problem(
                        pointer(loc, "Timestamp"),
                        "INVALID_VALUE",
                        "'Timestamp' must be an RFC 3339 timestamp",
                    )
                timestamp = v
            else:
                self.problem(pointer(loc, "Timestamp"), "INVALID_TYPE", "'Timestamp' must be a string")
        tpath, _ = self.ref_path(raw, "TimestampPath", loc, reference=False)
        return WaitState(
            **c,
            seconds=seconds,
            seconds_path=spath,
            seconds_jsonata=sexpr,
            timestamp=timestamp,
            timestamp_path=tpath,
            timestamp_jsonata=texpr,
        )

    def s_succeed(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        return SucceedState(**c)

    def s_fail(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        out: dict[str, Any] = {}
        for key in ("Error", "Cause"):
            low = key.lower()
            if key in raw and f"{key}Path" in raw:
                self.problem(loc, "MUTUALLY_EXCLUSIVE", f"'{key}' and '{key}Path' cannot both be set")
            v = raw.get(key)
            if v is not None:
                if not isinstance(v, str):
                    self.problem(pointer(loc, key), "INVALID_TYPE", f"'{key}' must be a string")
                elif c["query_language"] == JSONATA and jsonata.is_jsonata_template(v):
                    out[f"{low}_jsonata"] = self.jsonata_or_literal(v, pointer(loc, key))
                else:
                    out[low] = v
            pv = raw.get(f"{key}Path")
            if pv is not None:
                if not isinstance(pv, str):
                    self.problem(pointer(loc, f"{key}Path"), "INVALID_TYPE", f"'{key}Path' must be a string")
                else:
                    ev, _ = compile_dynamic(pv, f"{key}Path", pointer(loc, f"{key}Path"), self.problems)
                    out[f"{low}_path"] = ev
                    out[f"{low}_path_text"] = pv
        return FailState(**c, **out)

    def s_parallel(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        self.result_path(raw, loc, c)
        branches_raw = raw.get("Branches")
        branches: list[StateMachine] = []
        bloc = pointer(loc, "Branches")
        if not isinstance(branches_raw, list) or not branches_raw:
            self.problem(
                bloc if "Branches" in raw else loc, "MISSING_FIELD", "'Branches' must be a non-empty array"
            )
        else:
            for i, b in enumerate(branches_raw):
                m = self.machine(b, pointer(bloc, i), c["query_language"], top=False)
                if m is not None:
                    branches.append(m)
        ql = c["query_language"]
        return ParallelState(
            **c,
            branches=tuple(branches),
            parameters=self.payload(raw, loc, c),
            result_selector=self.jsonpath_value(raw, "ResultSelector", loc) if ql == JSONPATH else None,
            retry=self.retriers(raw, loc),
            catch=self.catchers(raw, loc, ql),
        )

    def s_map(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State | None:
        self.result_path(raw, loc, c)
        ql = c["query_language"]
        key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        if "ItemProcessor" in raw and "Iterator" in raw:
            self.problem(loc, "MUTUALLY_EXCLUSIVE", "'ItemProcessor' and 'Iterator' cannot both be set")
        proc_raw = raw.get(key)
        if proc_raw is None:
            self.problem(loc, "MISSING_FIELD", "'ItemProcessor' is required")
            return None
        distributed = False
        if isinstance(proc_raw, dict) and "ProcessorConfig" in proc_raw:
            distributed = self.processor_config(
                proc_raw["ProcessorConfig"], pointer(pointer(loc, key), "ProcessorConfig")
            )
        processor = self.machine(proc_raw, pointer(loc, key), ql, top=False, processor=True)
        if processor is None:
            return None
        if "ItemReader" in raw:
            self.problem(
                pointer(loc, "ItemReader"),
                "UNSUPPORTED",
                "ItemReader needs an S3 executor, which is not installed",
            )
        if "ResultWriter" in raw:
            self.problem(
                pointer(loc, "ResultWriter"),
                "UNSUPPORTED",
                "ResultWriter needs an S3 executor, which is not installed",
            )
        if "Parameters" in raw and "ItemSelector" in raw:
            self.problem(loc, "MUTUALLY_EXCLUSIVE", "'Parameters' and 'ItemSelector' cannot both be set")
        if ql == JSONPATH:
            selector = self.jsonpath_value(
                raw, "ItemSelector" if "ItemSelector" in raw else "Parameters", loc
            )
            items_path, _ = self.ref_path(raw, "ItemsPath", loc, reference=False)
            items = None
        else:
            selector = self.jsonata_value(raw, "ItemSelector", loc)
            items_path = None
            items = self.jsonata_value(raw, "Items", loc)
        mc = raw.get("MaxConcurrency", 0)
        mc_expr = None
        if ql == JSONATA and isinstance(mc, str):
            mc_expr = self.jsonata_or_literal(mc, pointer(loc, "MaxConcurrency"))
            mc = 0
        elif not isinstance(mc, int) or isinstance(mc, bool) or mc < 0:
            self.problem(
                pointer(loc, "MaxConcurrency"),
                "INVALID_VALUE",
                "'MaxConcurrency' must be a non-negative integer",
            )
            mc = 0
        mc_path, _ = self.ref_path(raw, "MaxConcurrencyPath", loc, reference=False)
        tfc = (
            self.number(raw, "ToleratedFailureCount", loc, integer=True, minimum=0)
            if not isinstance(raw.get("ToleratedFailureCount"), str)
            else None
        )
        tfp = (
            self.number(raw, "ToleratedFailurePercentage", loc, minimum=0)
            if not isinstance(raw.get("ToleratedFailurePercentage"), str)
            else None
        )
        if tfp is not None and tfp > 100:
            self.problem(
                pointer(loc, "ToleratedFailurePercentage"),
                "INVALID_VALUE",
                "'ToleratedFailurePercentage' must be at most 100",
            )
        tfc_path, _ = self.ref_path(raw, "ToleratedFailureCountPath", loc, reference=False)
        tfp_path, _ = self.ref_path(raw, "ToleratedFailurePercentagePath", loc, reference=False)
        return MapState(
            **c,
            processor=processor,
            distributed=distributed,
            items_path=items_path,
            items=items,
            item_selector=selector,
            result_selector=self.jsonpath_value(raw, "ResultSelector", loc) if ql == JSONPATH else None,
            max_concurrency=mc,
            max_concurrency_path=mc_path,
            max_concurrency_jsonata=mc_expr,
            tolerated_failure_count=int(tfc) if tfc is not None else None,
            tolerated_failure_count_path=tfc_path,
            tolerated_failure_percentage=tfp,
            tolerated_failure_percentage_path=tfp_path,
            label=self.label(raw, loc, distributed),
            item_batcher=self.item_batcher(raw, loc, ql),
            retry=self.retriers(raw, loc),
            catch=self.catchers(raw, loc, ql),
        )

    def processor_config(self, cfg: JSON, loc: str) -> bool:
        """A Map processor's ProcessorConfig; returns whether the Map is DISTRIBUTED."""
        if not isinstance(cfg, dict):
            self.problem(loc, "INVALID_TYPE", "'ProcessorConfig' must be an object")
            return False
        for name in cfg:
            if name not in PROCESSOR_CONFIG_FIELDS:
                self.problem(
                    pointer(loc, name),
                    "UNKNOWN_FIELD",
                    f"Field '{name}' is not supported in a ProcessorConfig",
                )
        mode = cfg.get("Mode", "INLINE")
        if mode not in ("INLINE", "DISTRIBUTED"):
            self.problem(pointer(loc, "Mode"), "INVALID_VALUE", "Mode must be INLINE or DISTRIBUTED")
        if "ExecutionType" in cfg:
            if mode != "DISTRIBUTED":
                # The child executions' type: an INLINE Map has no child executions.
                self.problem(
                    pointer(loc, "ExecutionType"),
                    "DISTRIBUTED_ONLY",
                    "'ExecutionType' is only supported with Mode DISTRIBUTED",
                )
            elif cfg["ExecutionType"] == "EXPRESS":
                # Child executions run with the guarantees of Standard ones; Express children
                # (at-least-once, five minutes at most) are not modelled, so they are refused.
                self.problem(
                    pointer(loc, "ExecutionType"),
                    "UNSUPPORTED",
                    "ExecutionType EXPRESS is not supported: a Distributed Map's children run as STANDARD",
                )
            elif cfg["ExecutionType"] != "STANDARD":
                self.problem(
                    pointer(loc, "ExecutionType"),
                    "INVALID_VALUE",
                    "ExecutionType must be STANDARD or EXPRESS",
                )
        return bool(mode == "DISTRIBUTED")

    def label(self, raw: Mapping[str, JSON], loc: str, distributed: bool) -> str | None:
        """A Map's Label: the name of its Map Runs, so only a DISTRIBUTED Map may have one."""
        if "Label" not in raw:
            return None
        value = raw["Label"]
        if not distributed:
            self.problem(
                pointer(loc, "Label"),
                "DISTRIBUTED_ONLY",
                "'Label' names the Map Runs of a Map in DISTRIBUTED mode; an INLINE Map has none",
            )
            return None
        if not isinstance(value, str) or not value:
            self.problem(pointer(loc, "Label"), "INVALID_TYPE", "'Label' must be a non-empty string")
            return None
        return value

    def item_batcher(self, raw: Mapping[str, JSON], loc: str, ql: QueryLanguage) -> ItemBatcher | None:
        """ItemBatcher as AWS defines it: at least one limit, each a number, a path or (JSONata) an expression."""
        if "ItemBatcher" not in raw:
            return None
        braw = raw["ItemBatcher"]
        bloc = pointer(loc, "ItemBatcher")
        if not isinstance(braw, dict):
            self.problem(bloc, "INVALID_TYPE", "'ItemBatcher' must be an object")
            return None
        allowed = ITEM_BATCHER_FIELDS if ql == JSONPATH else ITEM_BATCHER_FIELDS - JSONPATH_ONLY
        for key in braw:
            if key not in allowed:
                self.problem(pointer(bloc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported here")
        limits: dict[str, Any] = {}
        for key, maximum in (("MaxItemsPerBatch", None), ("MaxInputBytesPerBatch", MAX_BATCH_BYTES)):
            value: Any = None
            expr: Any = None
            v = braw.get(key)
            if ql == JSONATA and isinstance(v, str):
                expr = self.jsonata_or_literal(v, pointer(bloc, key))
                if expr is None:
                    self.problem(
                        pointer(bloc, key),
                        "INVALID_TYPE",
                        f"'{key}' must be a positive integer or a JSONata expression",
                    )
            elif key in braw:
                n = self.number(braw, key, bloc, integer=True, minimum=1)
                if n is not None and maximum is not None and n > maximum:
                    self.problem(pointer(bloc, key), "INVALID_VALUE", f"'{key}' must be at most {maximum}")
                value = int(n) if n is not None else None
            path, _ = self.ref_path(braw, key + "Path", bloc, reference=False)
            if key in braw and key + "Path" in braw:
                self.problem(bloc, "MUTUALLY_EXCLUSIVE", f"'{key}' and '{key}Path' cannot both be set")
            limits[key] = (value, path, expr)
        if not any(
            k in braw
            for k in (
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
            )
        ):
            self.problem(
                bloc,
                "MISSING_FIELD",
                "'ItemBatcher' needs MaxItemsPerBatch or MaxInputBytesPerBatch (or a ...Path)",
            )
        batch_input = (
            self.jsonpath_value(braw, "BatchInput", bloc)
            if ql == JSONPATH
            else self.jsonata_value(braw, "BatchInput", bloc)
        )
        items, nbytes = limits["MaxItemsPerBatch"], limits["MaxInputBytesPerBatch"]
        return ItemBatcher(
            max_items=items[0],
            max_items_path=items[1],
            max_items_jsonata=items[2],
            max_bytes=nbytes[0],
            max_bytes_path=nbytes[1],
            max_bytes_jsonata=nbytes[2],
            batch_input=batch_input,
        )
