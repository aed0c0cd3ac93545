"""Start or join a Ray cluster: `local` starts one in this process, `auto`/ADDRESS joins a running one."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def connect(address: str = "local", num_cpus: int | None = None, object_store_mb: int | None = None,
            env_vars: dict[str, str] | None = None) -> dict:
    """Initialise Ray once per process and return its cluster resources (CPU, GPU, memory in bytes).

    address: `local` (a new single-node cluster sized by num_cpus / object_store_mb), `auto`
    (the cluster `ray start` created on this node) or `HOST:PORT` / `ray://HOST:PORT`.
    """
    import ray

    if ray.is_initialized():
        return ray.cluster_resources()
    env = {"HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "0"), "TOKENIZERS_PARALLELISM": "false"}
    if os.environ.get("HARDNEG_CACHE"):
        env["HARDNEG_CACHE"] = os.environ["HARDNEG_CACHE"]
    env.update(env_vars or {})
    runtime_env = {"env_vars": env}
    if address == "local":
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env,
                 object_store_memory=object_store_mb * 1024 * 1024 if object_store_mb else None,
                 configure_logging=False)
    else:
        if num_cpus or object_store_mb:
            log.warning("num_cpus/object_store_mb are ignored when joining an existing cluster (%s)", address)
        ray.init(address=address, log_to_driver=False, runtime_env=runtime_env, configure_logging=False)
    res = ray.cluster_resources()
    log.info("ray cluster: %s", {k: v for k, v in res.items() if k in ("CPU", "GPU", "object_store_memory")})
    return res


def num_workers() -> int:
    """CPUs in the connected cluster (at least 1)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def num_gpus() -> int:
    """GPUs in the connected cluster (0 on CPU-only clusters)."""
    import ray

    return int(ray.cluster_resources().get("GPU", 0))
