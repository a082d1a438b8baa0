"""What a test run shares: its servers, its template and what each worker's fixtures need of the
settings, prepared once (harness.isolation.run) and handed to the xdist workers as JSON. A worker
reads it without the settings model, whose import (pydantic) was most of a worker's start."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from harness.provision.endpoints import Endpoints


@dataclass(frozen=True, kw_only=True)
class RunState:
    endpoints: Endpoints
    template: str
    template_built: bool
    # the servers and their data go when the run ends (the embedded backend's own): nothing of
    # theirs needs dropping first
    disposable: bool = False
    logins: dict[str, str] = field(repr=False)  # role → development password, as set on the server
    clone_pool_size: int  # Settings.clone_pool_size
    spare_clones: int  # Settings.reuse_spare_clones when the servers are reused, else 0
    hang_timeout: float  # Settings.hang_timeout

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunState:
        data = json.loads(text)
        data["endpoints"] = Endpoints(**data["endpoints"])
        return cls(**data)
