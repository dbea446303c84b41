"""The shape holds: imports point one way, settings mirror .env.example, the manifest grants what the code calls."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

from bot.config import Settings
from fakeslack.spec import methods

ROOT = Path(__file__).resolve().parents[2]


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)  # and `from bot import slack` is bot.slack (or a name in bot: harmless)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{file}: {name}" for file, names in imports_of(package).items() for name in sorted(names)
            if name.split(".")[0] in forbidden or any(name == f or name.startswith(f + ".") for f in forbidden)]


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    allowed_roots = {"bot", *sys.stdlib_module_names}
    bad = [f"{file}: {name}" for file, names in imports_of("bot.domain").items() for name in names
           if name.split(".")[0] not in allowed_roots or (name.startswith("bot.") and not name.startswith("bot.domain"))]
    assert bad == []


def test_services_never_touch_slack_or_the_edge() -> None:
    assert offenders("bot.services", ("slack_bolt", "slack_sdk", "bot.slack", "handlers", "app")) == []


def test_models_and_the_slack_layer_do_not_reach_upwards() -> None:
    assert offenders("models", ("bot.services", "bot.slack", "handlers", "slack_bolt", "slack_sdk")) == []
    assert offenders("bot.slack", ("handlers", "models", "sqlalchemy", "app")) == []


def test_the_slack_layer_reaches_no_database_even_through_what_it_imports() -> None:
    """What bot.slack takes from the services (the ports, the messages, the read model) is plain data: its
    modules load without SQLAlchemy, the models or any use case."""
    modules = sorted(p.stem for p in (ROOT / "bot" / "slack").glob("*.py") if p.stem != "__init__")
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, importlib\n"
         f"for m in {modules!r}: importlib.import_module('bot.slack.' + m)\n"
         "print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    services = {m for m in loaded if m.startswith("bot.services.")}
    assert services <= {"bot.services.ports", "bot.services.messages", "bot.services.readmodel"}, services
    assert [m for m in loaded if m.split(".")[0] in ("sqlalchemy", "models", "handlers", "app")] == []


HANDLERS_MAY_USE = ("slack_bolt", "bot.services", "bot.slack", "bot.domain", "bot.rendering", "bot.config", "handlers")


def test_handlers_use_services_and_the_slack_layer_never_models_sqlalchemy_or_the_composition_root() -> None:
    def allowed(name: str) -> bool:
        return name.split(".")[0] in sys.stdlib_module_names or any(
            name == a or name.startswith(a + ".") for a in HANDLERS_MAY_USE)

    bad = [f"{file}: {name}" for file, names in imports_of("handlers").items() for name in sorted(names) if not allowed(name)]
    assert bad == []  # so never models, sqlalchemy or app: the edge reaches the database through a service


def test_only_the_composition_root_reads_the_environment() -> None:
    readers = [str(p.relative_to(ROOT)) for pkg in ("bot", "handlers", "models") for p in (ROOT / pkg).rglob("*.py")
               if re.search(r"os\.environ|os\.getenv", p.read_text())]
    assert readers == []


def test_env_example_mirrors_the_settings_line_for_line() -> None:
    keys = [line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
            if line and not line.startswith("#")]
    assert keys == [name.upper() for name in Settings.model_fields]


def test_the_manifest_declares_the_command_events_and_every_scope_the_gateway_needs() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [Settings.model_fields["slash_command"].default]
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    for url in (settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"],
                manifest["features"]["slash_commands"][0]["url"]):
        assert url.endswith("/slack/events")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    gateway = (ROOT / "bot/slack/gateway.py").read_text()
    spec = methods()
    by_python_name = {name.replace(".", "_"): name for name in spec}
    by_python_name["files_upload_v2"] = "files.completeUploadExternal"  # slack_sdk's wrapper of the external upload flow
    called = {by_python_name[name] for name in re.findall(r"self\.client\.([a-z]+_[A-Za-z_0-9]+)\(", gateway)}
    assert {"chat.postMessage", "chat.update", "views.open", "usergroups.users.list", "files.completeUploadExternal"} <= called
    for method in sorted(called):
        needed = {re.sub(r":(bot|user)$", "", scope) for scope in spec[method].scopes} - {"none"}
        assert not needed or needed & granted, f"{method} needs one of {sorted(needed)}"


def test_the_readmes_permission_table_is_the_one_the_code_enforces() -> None:
    from bot.domain.permissions import WHO_MAY, Act, Role

    acts = {"Acknowledge": Act.ACKNOWLEDGE, "Escalate": Act.ESCALATE, "Post update": Act.POST_UPDATE,
            "Resolve": Act.RESOLVE, "Post-mortem done": Act.COMPLETE_POSTMORTEM, "Reopen": Act.REOPEN,
            "Reassign": Act.REASSIGN, "View (`status`, `export`, list, Home)": Act.VIEW, "Subscribe": Act.SUBSCRIBE,
            "Escalate a systemic issue (every ticket of its notice, to the last level)": Act.ESCALATE_SYSTEMIC}
    columns = [Role.RESPONDER, Role.ASSIGNEE, Role.MANAGER, Role.REPORTER, Role.ESCALATOR, Role.POSTMORTEM_OWNER,
               Role.ANY_RESPONDER]
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| act | responders |"):].split("\n\n")[0].splitlines()[2:]
    documented = {}
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] in acts:
            documented[acts[cells[0]]] = frozenset(role for role, cell in zip(columns, cells[1:]) if cell.startswith("✓"))
    assert documented == dict(WHO_MAY)


def test_nothing_the_bot_runs_imports_the_sandbox() -> None:
    """The production path gains no sandbox code beyond the composition root's choice: only app.py's
    run_sandbox() (what `--sandbox` calls) may import it."""
    for package in ("bot", "handlers", "models", "fakeslack"):
        assert offenders(package, ("sandbox",)) == [], package
    tree = ast.parse((ROOT / "app.py").read_text())
    choice = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "run_sandbox")
    allowed = {id(node) for node in ast.walk(choice)}

    def imports_sandbox(node: ast.AST) -> bool:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [getattr(node, "module", "") or ""]
        return any(name == "sandbox" or name.startswith("sandbox.") for name in names)

    outside = [node.lineno for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               and imports_sandbox(node) and id(node) not in allowed]
    assert outside == []
    assert any(imports_sandbox(node) for node in ast.walk(choice) if isinstance(node, (ast.Import, ast.ImportFrom)))


def test_services_import_each_other_at_the_top_and_without_a_cycle() -> None:
    """No import hidden in a function to dodge a cycle (the outbox's senders were once reached that way)."""
    hidden = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in (ROOT / "bot/services").rglob("*.py")
              for fn in ast.walk(ast.parse(path.read_text())) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
              for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert hidden == []
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "bot/services").glob("*.py"):
        module = f"bot.services.{path.stem}"
        names: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.services"):
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)  # from bot.services import outbox
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        graph[module] = {n for n in names if n in {f"bot.services.{p.stem}" for p in (ROOT / "bot/services").glob("*.py")}}

    def cycle_from(start: str, here: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(graph.get(here, ())):
            if nxt == start:
                return (*seen, nxt)
            if nxt not in seen:
                if found := cycle_from(start, nxt, (*seen, nxt)):
                    return found
        return None

    cycles = [c for module in sorted(graph) if module != "bot.services.__init__" and (c := cycle_from(module, module, (module,)))]
    assert cycles == []


def test_slack_id_shapes_are_spelled_in_the_slack_ids_module_only() -> None:
    """What a Slack ID looks like (U…, S…, C…) is bot/slack/ids.py's; services ask the Directory port."""
    shape = re.compile(r"""\[[CDGSUVWF]{1,5}\]\[A-Z0-9\]|startswith\(["'][CDGSUW]["']\)|in ["'][CDGSUW]{1,5}["']""")
    spelled = [f"{path.relative_to(ROOT)}:{n}" for pkg in ("bot", "handlers", "models") for path in (ROOT / pkg).rglob("*.py")
               if path != ROOT / "bot/slack/ids.py"
               for n, line in enumerate(path.read_text().splitlines(), 1) if shape.search(line)]
    assert spelled == []
