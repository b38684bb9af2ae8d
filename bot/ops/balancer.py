"""nginx in front of production mode's Rasa instances: its configuration and its command.

The configuration is rendered from deploy/nginx.conf.j2 into var/nginx/, where nginx also keeps
its pid file, logs and temporary files, so it runs beside a system nginx without touching it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2

from bot.settings import PROJECT_ROOT, Settings

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.j2"
NGINX = "/usr/sbin/nginx"
# Passive health checks: one failed connection takes an instance out for this long.
MAX_FAILS = 1
FAIL_TIMEOUT = "5s"


def nginx_prefix(settings: Settings) -> Path:
    return settings.var_dir / "nginx"


def nginx_config_path(settings: Settings) -> Path:
    return nginx_prefix(settings) / "nginx.conf"


def render_nginx_config(settings: Settings) -> str:
    template = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined)
    return (
        template.render(
            prefix=nginx_prefix(settings),
            host=settings.rasa_host,
            port=settings.rasa_port,
            ports=settings.rasa_instance_ports,
            max_fails=MAX_FAILS,
            fail_timeout=FAIL_TIMEOUT,
        )
        + "\n"
    )


def write_nginx_config(settings: Settings) -> Path:
    prefix = nginx_prefix(settings)
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    path = nginx_config_path(settings)
    path.write_text(render_nginx_config(settings))
    return path


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (NGINX if Path(NGINX).exists() else None)


def nginx_command(settings: Settings) -> list[str]:
    """nginx in the foreground (`daemon off`), so the supervisor sees it die and stops it."""
    prefix = nginx_prefix(settings)
    return [
        nginx_binary() or NGINX,
        "-p", str(prefix),
        "-c", str(nginx_config_path(settings)),
        "-e", str(prefix / "error.log"),
        "-g", "daemon off;",
    ]  # fmt: skip


def balancer_health_url(settings: Settings) -> str:
    return f"{settings.rasa_url}/balancer/health"
