"""Profiles: the model, loading and writing, overrides, and the resolved plan.

`load_profile(path)` reads a JSON or TOML profile (`profile_converter`, the
one strict cattrs converter, structures it: `structure_profile`); `resolve(profile,
overrides, env)` turns it into the `RunPlan` the engine runs;
`describe_plan(plan)` prints it; `profile_schema()` is its JSON Schema;
`check_files(plan)` checks the local files it names (the CA bundle);
`load_datasets(plan)` reads the dataset files it names (once, before a run).
Importing this package imports neither trio nor httpcore.
"""

from __future__ import annotations

from loadtest.config._converter import converter as profile_converter
from loadtest.config._converter import (
    key_path,
    structure_profile,
    unstructure_profile,
)
from loadtest.config._converter import problems_of as conversion_problems
from loadtest.config._dataset import (
    Dataset,
    DatasetContent,
    DatasetFields,
    DatasetRecord,
    parse_dataset,
)
from loadtest.config._describe import describe_plan, mean_turns
from loadtest.config._files import check_files, load_datasets
from loadtest.config._lengths import (
    EmpiricalDist,
    LognormalDist,
    NormalDist,
    TokenCount,
    TokenDist,
    UniformDist,
    draw_tokens,
    mean_tokens,
)
from loadtest.config._load import dump_profile, load_profile, parse_document, parse_profile
from loadtest.config._model import (
    Arrival,
    CacheMode,
    ClosedStage,
    Content,
    Correlation,
    Defaults,
    FieldError,
    HttpOptions,
    OpenStage,
    PoolContent,
    Profile,
    Scenario,
    ScriptedContent,
    SizedContent,
    Stage,
    ThinkTime,
    Thresholds,
    Timeouts,
    Tool,
    Turns,
)
from loadtest.config._overrides import Overrides, apply_overrides, parse_header_flag
from loadtest.config._redact import (
    MASK,
    holds_mask,
    is_secret,
    mask_header,
    mask_url,
    redact_profile,
    scrub,
    secret_names,
    secret_values,
)
from loadtest.config._resolve import ENV_REF, RunPlan, ScenarioPlan, Target, resolve
from loadtest.config._schema import profile_schema
from loadtest.config._segment import Segment, parse_segment
from loadtest.config._slo import SLO_METRICS, Slo, parse_slo, parse_slos
from loadtest.config._split import split_by_weight
from loadtest.config._stages import (
    closed_stage,
    format_load,
    format_stage,
    open_stage,
    parse_stage,
    parse_stages,
)
from loadtest.config._units import Duration, DurationRange, IntRange, parse_duration

__all__ = [
    "ENV_REF",
    "MASK",
    "SLO_METRICS",
    "Arrival",
    "CacheMode",
    "ClosedStage",
    "Content",
    "Correlation",
    "Dataset",
    "DatasetContent",
    "DatasetFields",
    "DatasetRecord",
    "Defaults",
    "Duration",
    "DurationRange",
    "EmpiricalDist",
    "FieldError",
    "HttpOptions",
    "IntRange",
    "LognormalDist",
    "NormalDist",
    "OpenStage",
    "Overrides",
    "PoolContent",
    "Profile",
    "RunPlan",
    "Scenario",
    "ScenarioPlan",
    "ScriptedContent",
    "Segment",
    "SizedContent",
    "Slo",
    "Stage",
    "Target",
    "ThinkTime",
    "Thresholds",
    "Timeouts",
    "TokenCount",
    "TokenDist",
    "Tool",
    "Turns",
    "UniformDist",
    "apply_overrides",
    "check_files",
    "closed_stage",
    "conversion_problems",
    "describe_plan",
    "draw_tokens",
    "dump_profile",
    "format_load",
    "format_stage",
    "holds_mask",
    "is_secret",
    "key_path",
    "load_datasets",
    "load_profile",
    "mask_header",
    "mask_url",
    "mean_tokens",
    "mean_turns",
    "open_stage",
    "parse_dataset",
    "parse_document",
    "parse_duration",
    "parse_header_flag",
    "parse_profile",
    "parse_segment",
    "parse_slo",
    "parse_slos",
    "parse_stage",
    "parse_stages",
    "profile_converter",
    "profile_schema",
    "redact_profile",
    "resolve",
    "scrub",
    "secret_names",
    "secret_values",
    "split_by_weight",
    "structure_profile",
    "unstructure_profile",
]
